//! Validating local fakes of the BIGHUB and OpenAI Responses APIs, for tests and benchmarks.
//!
//! Both servers bind 127.0.0.1 on a free port and stop when their handle is dropped. They
//! reject what the real services reject, so a test that passes against them proves the
//! client speaks the real wire format. [`otlp_receiver`] is the other side of trace
//! export: a local OTLP/HTTP receiver that decodes what it is sent.

pub mod fake_bighub;
pub mod fake_openai;
pub mod mcp_ops;
pub mod otlp_receiver;

pub use fake_bighub::FakeBighub;
pub use fake_openai::FakeOpenAi;
