//! The fakes themselves: what the fake Responses API and the fake BIGHUB accept and reject,
//! and the `fake-openai` program.
//!
//! One test binary with a module per fake, so that the tree is linked once for them. Run
//! one with `cargo test -p bighub-testkit --test fakes fake_openai::`.

mod fake_bighub;
mod fake_openai;
mod fake_openai_bin;
mod otlp_receiver;
