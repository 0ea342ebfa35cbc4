//! A task's events as a server-sent event stream: what is known now, then
//! new events as they happen, ending after the completion. The API's
//! `eventstream` and the portal's live task page both serve it.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::response::sse::Event;
use pave_scaffold::tasks::{EventType, Scaffolder, TaskEvent};
use serde_json::json;

pub(crate) fn event_name(event_type: EventType) -> &'static str {
    match event_type {
        EventType::Log => "log",
        EventType::Completion => "completion",
        EventType::Cancelled => "cancelled",
        EventType::Recovered => "recovered",
    }
}

/// `first`, then events as they come, ending after the completion event.
pub(crate) fn follow(
    engine: Scaffolder,
    id: String,
    after: Option<i64>,
    first: Vec<TaskEvent>,
    finished: bool,
) -> impl futures_util::Stream<Item = Result<Event, Infallible>> {
    struct Cursor {
        engine: Scaffolder,
        id: String,
        after: Option<i64>,
        pending: VecDeque<TaskEvent>,
        done: bool,
    }
    let cursor = Cursor {
        engine,
        id,
        after: first.last().map(|event| event.id).or(after),
        pending: first.into(),
        done: finished,
    };
    futures_util::stream::unfold(cursor, |mut cursor| async move {
        loop {
            if let Some(event) = cursor.pending.pop_front() {
                let sse = Event::default()
                    .id(event.id.to_string())
                    .event(event_name(event.event_type))
                    .data(json!(event).to_string());
                return Some((Ok(sse), cursor));
            }
            if cursor.done {
                return None;
            }
            match cursor
                .engine
                .next_events(&cursor.id, cursor.after, Duration::from_secs(30))
                .await
            {
                Ok((events, finished)) => {
                    if let Some(last) = events.last() {
                        cursor.after = Some(last.id);
                    }
                    cursor.pending.extend(events);
                    cursor.done = finished;
                }
                Err(error) => {
                    tracing::warn!(task = %cursor.id, %error, "task event stream stopped");
                    return None;
                }
            }
        }
    })
}
