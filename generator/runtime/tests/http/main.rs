//! End-to-end tests of the runtime over real HTTP, against loopback servers.

mod bodies;
mod errors;
mod media;
mod paging;
mod pool;
mod requests;
mod retries;
mod support;
