//! `debug:wait`: pauses a task, bounded and cancellable.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Action, ActionContext, ActionError, ActionFuture};

const NAME: &str = "debug:wait";

/// Longest wait accepted, as in Backstage: a template must not hold a task
/// (and its workspace) for hours.
pub const MAX_WAIT: Duration = Duration::from_secs(10 * 60);

/// Waits for the given time, or until the task is cancelled.
#[derive(Debug, Clone, Copy, Default)]
pub struct DebugWait;

impl Action for DebugWait {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "Waits for a while (at most 10 minutes); the parts add up."
    }

    fn input_schema(&self) -> Value {
        let part = |unit: &str| json!({"type": "number", "minimum": 0, "description": format!("{unit} to wait.")});
        json!({
            "type": "object",
            "properties": {
                "minutes": part("Minutes"),
                "seconds": part("Seconds"),
                "milliseconds": part("Milliseconds")
            }
        })
    }

    fn run<'a>(&'a self, context: &'a mut ActionContext<'_>, input: &'a Value) -> ActionFuture<'a> {
        Box::pin(async move {
            let number = |key: &str| input.get(key).and_then(Value::as_f64).unwrap_or(0.0);
            let total_seconds =
                number("minutes") * 60.0 + number("seconds") + number("milliseconds") / 1000.0;
            let duration = Duration::try_from_secs_f64(total_seconds)
                .ok()
                .filter(|duration| *duration <= MAX_WAIT)
                .ok_or_else(|| {
                    ActionError::invalid(
                        NAME,
                        "",
                        format!(
                            "the wait adds up to {total_seconds} seconds; the longest allowed is {} seconds",
                            MAX_WAIT.as_secs()
                        ),
                    )
                })?;
            context.log(format!("Waiting {} ms", duration.as_millis()));
            let cancellation = context.cancellation.clone();
            tokio::select! {
                () = tokio::time::sleep(duration) => Ok(json!({})),
                () = cancellation.cancelled() => Err(ActionError::Cancelled { action: NAME.to_string() }),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::super::test_support::{run, workspace};
    use crate::actions::{ActionContext, ActionError, ActionRegistry};

    #[tokio::test]
    async fn waits_for_the_sum_of_the_parts() {
        let (directories, workspace) = workspace();
        let started = std::time::Instant::now();
        let (result, log) = run(
            &directories,
            &workspace,
            "debug:wait",
            json!({"seconds": 0.05, "milliseconds": 30}),
        )
        .await;
        result.unwrap();
        assert!(started.elapsed() >= Duration::from_millis(80));
        assert_eq!(log, ["Waiting 80 ms"]);
    }

    #[tokio::test]
    async fn waits_longer_than_the_bound_are_refused() {
        let (directories, workspace) = workspace();
        for input in [json!({"minutes": 11}), json!({"seconds": 1e300})] {
            let (result, _log) = run(&directories, &workspace, "debug:wait", input).await;
            let error = result.unwrap_err().to_string();
            assert!(error.contains("longest allowed"), "{error}");
        }
        let (result, _log) = run(
            &directories,
            &workspace,
            "debug:wait",
            json!({"seconds": -1}),
        )
        .await;
        assert!(matches!(result, Err(ActionError::InvalidInput { .. })));
    }

    #[tokio::test]
    async fn cancellation_stops_the_wait() {
        let (_directories, workspace) = workspace();
        let mut log = Vec::new();
        let mut context = ActionContext::new(&workspace, &mut log);
        let cancellation = context.cancellation.clone();
        let canceller = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            cancellation.cancel();
        });
        let started = std::time::Instant::now();
        let result = ActionRegistry::with_builtin_actions()
            .run("debug:wait", &mut context, &json!({"minutes": 5}))
            .await;
        assert!(
            matches!(result, Err(ActionError::Cancelled { .. })),
            "{result:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(60));
        canceller.await.unwrap();
    }
}
