//! How the PostgreSQL store's failures become [`LocalError`]s.
//!
//! This module owns telling the request's fault (a value the database refuses: the
//! decision server answers 422) from the store's (an outage, a timeout: 503), by SQLSTATE
//! class. It does not retry or time anything out (`mod.rs` does).

use crate::error::LocalError;

impl From<tokio_postgres::Error> for LocalError {
    fn from(e: tokio_postgres::Error) -> Self {
        let text = match e.as_db_error() {
            Some(db) if refuses_the_request(db.code().code()) => {
                // The request's values, not the store, are at fault: a data exception
                // (class 22), an integrity violation (23) or a program limit (54).
                let field = db
                    .column()
                    .map(|c| c.escape_debug().to_string())
                    .unwrap_or_else(|| "value".to_owned());
                return LocalError::InvalidInput {
                    field,
                    message: format!(
                        "the database refused it ({}: {})",
                        db.code().code(),
                        db.message().escape_debug()
                    ),
                };
            }
            Some(db) => format!("{}: {}", db.code().code(), db.message()),
            None => {
                let mut text = e.to_string();
                if let Some(source) = std::error::Error::source(&e) {
                    text.push_str(": ");
                    text.push_str(&source.to_string());
                }
                text
            }
        };
        LocalError::Database(text)
    }
}

impl From<deadpool_postgres::PoolError> for LocalError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => e.into(),
            other => LocalError::Database(format!("no database connection: {other}")),
        }
    }
}

/// Whether a SQLSTATE says the request's values are at fault: classes 22 (data
/// exception: a NUL byte, a value out of range), 23 (integrity constraint violation) and
/// 54 (program limit exceeded: a value too large to index).
fn refuses_the_request(sqlstate: &str) -> bool {
    matches!(sqlstate.get(..2), Some("22" | "23" | "54"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_requests_faults_are_told_from_outages_by_sqlstate() {
        // NUL byte, value too large to index, unique violation: the request.
        for code in ["22021", "54000", "23505", "22P02"] {
            assert!(refuses_the_request(code), "{code}");
        }
        // Connection failure, statement timeout, too many connections, shutdown: the store.
        for code in ["08006", "57014", "53300", "57P01", "40001", ""] {
            assert!(!refuses_the_request(code), "{code}");
        }
    }
}
