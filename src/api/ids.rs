//! Typed identifiers of the VNTANA API. They are opaque strings on the wire (the platform
//! happens to use UUIDs); the types only keep an organization's uuid from being passed where a
//! webhook's is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a raw identifier.
            pub fn new(raw: impl Into<String>) -> Self {
                Self(raw.into())
            }

            /// The identifier as the wire carries it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(raw: &str) -> Self {
                Self(raw.to_owned())
            }
        }
    };
}

string_id!(
    /// An organization's `uuid`.
    OrganizationUuid
);
string_id!(
    /// A folder's (the API calls them clients or client organizations) `uuid`.
    FolderUuid
);
string_id!(
    /// A webhook's `uuid`.
    WebhookUuid
);
string_id!(
    /// An event's `uuid` in the catalogue.
    EventUuid
);
string_id!(
    /// A user's `uuid` (the emulator's bookkeeping; the API never shows it).
    UserUuid
);
