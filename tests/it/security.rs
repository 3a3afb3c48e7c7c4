//! Security (issue 9, part 4): no command prints or writes a secret or token it should not,
//! at any verbosity, on success or failure (`leaks`); no API route lets in a caller the spec
//! keeps out (`routes`); and (issue 15) no client can hold `listen` or the emulator open, and
//! no web page can drive the emulator (`servers`).

mod leaks;
mod routes;
mod servers;
