//! Security (issue 9, part 4): no command prints or writes a secret or token it should not,
//! at any verbosity, on success or failure (`leaks`); and no API route lets in a caller the
//! spec keeps out (`routes`). Issue 15, what an adversarial review broke, each attack
//! reproduced: a config sending the credential away, platform text as terminal control,
//! tokens outside the run, limits (`hardening`); a long-running client outlives its tokens
//! without looping, and no proxy sees a call to a loopback API (`tokens_and_proxies`); no
//! client can hold `listen` or the emulator open, and no web page can drive the emulator
//! (`servers`).

mod hardening;
mod leaks;
mod routes;
mod servers;
mod tokens_and_proxies;
