//! Planning (product.md, "Planning"): the pure planner over the resolved desired state and the
//! live snapshot, the plan's types, the ownership marker, and the renderers.

pub mod file;
pub mod marker;
pub mod model;
pub mod planner;
pub mod problems;
pub mod render;
pub mod schema;

pub use model::{Action, ActionKind, Plan, Reason};
pub use planner::{Options, Target, plan};
