//! Security (issue 9, part 4): no command prints or writes a secret or token it should not,
//! at any verbosity, on success or failure (`leaks`); and no API route lets in a caller the
//! spec keeps out (`routes`). Issue 15, what an adversarial review broke, each attack
//! reproduced: a config sending the credential away, platform text as terminal control,
//! tokens outside the run, limits (`hardening`); a long-running client outlives its tokens
//! without looping, and no proxy sees a call to a loopback API (`tokens_and_proxies`).

mod hardening;
mod leaks;
mod routes;
mod tokens_and_proxies;
