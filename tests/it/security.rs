//! Security (issue 9, part 4): no command prints or writes a secret or token it should not,
//! at any verbosity, on success or failure (`leaks`); and no API route lets in a caller the
//! spec keeps out (`routes`); what an adversarial review broke, each attack reproduced
//! (`hardening`, issue 15).

mod hardening;
mod leaks;
mod routes;
