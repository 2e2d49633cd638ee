//! Validating local fakes of the BIGHUB and OpenAI Responses APIs, for tests and benchmarks.

pub mod fake_openai;
