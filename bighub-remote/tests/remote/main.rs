//! `RemoteBighub` from outside the crate, against the validating fake BIGHUB server: the
//! wire format, retries and errors, and the fail modes.
//!
//! One test binary with a module per concern, so that the tree is linked once for them.
//! Only `client::from_env_reads_the_key_and_base_url` sets environment variables, and no
//! other test reads them (`RemoteBighub::builder()` reads none).

mod client;
mod fail_mode;
