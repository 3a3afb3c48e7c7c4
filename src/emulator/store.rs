//! The emulator's state behind one lock, with the clock, the id source and (with `--state`)
//! the persister. A change runs under the lock and, when persisting, is answered only once a
//! write covering it is on disk. Changes check everything before they touch the state, so a
//! refused request leaves it exactly as it was.

use std::sync::Mutex;

use super::clock::Clock;
use super::error::ApiError;
use super::ids::IdSource;
use super::persist::Persister;
use super::state::State;

#[derive(Debug)]
struct Versioned {
    state: State,
    version: u64,
}

#[derive(Debug)]
pub struct Store {
    current: Mutex<Versioned>,
    initial: State,
    pub clock: Clock,
    pub ids: IdSource,
    persister: Option<Persister>,
}

impl Store {
    /// A store starting at `state`; `reset` returns to `initial`.
    pub fn new(
        state: State,
        initial: State,
        clock: Clock,
        ids: IdSource,
        persister: Option<Persister>,
    ) -> Store {
        Store {
            current: Mutex::new(Versioned { state, version: 0 }),
            initial,
            clock,
            ids,
            persister,
        }
    }

    /// Reads the state.
    pub fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.current.lock().expect("state lock").state)
    }

    /// Applies a change; an `Err` from `change` must leave the state untouched.
    pub async fn mutate<T>(
        &self,
        change: impl FnOnce(&mut State) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let (value, version) = {
            let mut current = self.current.lock().expect("state lock");
            let value = change(&mut current.state)?;
            current.version += 1;
            if let Some(persister) = &self.persister {
                let bytes =
                    serde_json::to_vec_pretty(&current.state).map_err(|_| ApiError::internal())?;
                persister.submit(current.version, bytes);
            }
            (value, current.version)
        };
        match &self.persister {
            Some(persister) if !persister.wait(version).await => Err(ApiError::internal()),
            _ => Ok(value),
        }
    }

    /// Back to the seed's state.
    pub async fn reset(&self) -> Result<(), ApiError> {
        let initial = self.initial.clone();
        self.mutate(move |state| {
            *state = initial;
            Ok(())
        })
        .await
    }

    /// A copy of the whole state.
    pub fn snapshot(&self) -> State {
        self.read(State::clone)
    }
}
