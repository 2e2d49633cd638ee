//! A blocking agent for programs without an async runtime.
//!
//! It owns a small tokio runtime and runs the async [`crate::BighubOpenAI`] on it. Do not
//! call it from inside an async runtime (tokio panics on nested `block_on`); use the async
//! agent there.
//!
//! ```no_run
//! use bighub_openai::blocking;
//!
//! # fn demo(tools: bighub_openai::tool::ToolRegistry) -> Result<(), bighub_openai::Error> {
//! let agent = blocking::BighubOpenAI::new(bighub_openai::BighubOpenAI::from_env().tools(tools))?;
//! let result = agent.run("Sync checkout-service in Argo CD staging", "gpt-5.5")?;
//! println!("{}", result.output_text());
//! agent.close()?;
//! # Ok(()) }
//! ```

use std::time::Duration;

use serde_json::Value;

use crate::{
    BighubOpenAIBuilder, Error, ResumedRun, Resumptions, RunResult,
    run::{IntoInput, ReportStats, ToolCheck},
    tool::ToolDefinition,
};

/// The blocking twin of [`crate::BighubOpenAI`].
#[derive(Debug)]
pub struct BighubOpenAI {
    runtime: tokio::runtime::Runtime,
    agent: crate::BighubOpenAI,
}

impl BighubOpenAI {
    /// Builds the agent from an async builder and starts its runtime.
    pub fn new(builder: BighubOpenAIBuilder) -> Result<Self, Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("bighub-openai")
            .enable_all()
            .build()
            .map_err(|e| Error::Config(format!("could not start the runtime: {e}")))?;
        let agent = runtime.block_on(async { builder.build() })?;
        Ok(Self { runtime, agent })
    }

    /// See [`crate::BighubOpenAI::run`].
    pub fn run(&self, input: impl IntoInput, model: &str) -> Result<RunResult, Error> {
        self.runtime.block_on(self.agent.run(input, model))
    }

    /// See [`crate::BighubOpenAI::check_tool`].
    pub fn check_tool(&self, tool: &str, arguments: Value) -> Result<ToolCheck, Error> {
        self.runtime
            .block_on(self.agent.check_tool(tool, arguments))
    }

    /// See [`crate::BighubOpenAI::decide_tool`].
    pub fn decide_tool(&self, tool: &str, arguments: Value) -> Result<ToolCheck, Error> {
        self.runtime
            .block_on(self.agent.decide_tool(tool, arguments))
    }

    /// See [`crate::BighubOpenAI::list_tools`].
    pub fn list_tools(&self) -> Vec<ToolDefinition> {
        self.agent.list_tools()
    }

    /// See [`crate::BighubOpenAI::resume_answered`].
    pub fn resume_answered(&self) -> Result<Vec<ResumedRun>, Error> {
        self.runtime.block_on(self.agent.resume_answered())
    }

    /// See [`crate::BighubOpenAI::serve_resumptions`]: the passes run on this agent's
    /// runtime, in the background; dropping the handle stops them.
    pub fn serve_resumptions<F>(&self, interval: Duration, on_resumed: F) -> Resumptions
    where
        F: Fn(String, Result<RunResult, Error>) + Send + Sync + 'static,
    {
        let _runtime = self.runtime.enter();
        self.agent.serve_resumptions(interval, on_resumed)
    }

    /// See [`crate::BighubOpenAI::close`].
    pub fn close(&self) -> Result<ReportStats, Error> {
        self.runtime.block_on(self.agent.close())
    }

    /// The async agent inside.
    pub fn as_async(&self) -> &crate::BighubOpenAI {
        &self.agent
    }
}
