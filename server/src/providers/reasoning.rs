//! How much a reasoning model thinks before it answers, in every request spark-lsp sends.
//!
//! Many chat models reason by default (the GPT-5 family, Qwen3 and gpt-oss on Ollama, llama.cpp
//! and vLLM): thousands of hidden tokens before the first visible one turn a 50 ms completion
//! into seconds. `provider.reasoning = "least"` (the default) asks for the least the endpoint
//! supports, in each wire's own words (sources in docs/providers.md):
//! - Responses (HTTP and WebSocket): `reasoning: {effort}`;
//! - Chat Completions: `reasoning_effort` (OpenAI, Cerebras, Groq, and Ollama, where `"none"`
//!   turns thinking off) and, off OpenAI's hosts, `chat_template_kwargs: {enable_thinking:
//!   false}` (the chat template switch of Qwen3-style models on llama.cpp and vLLM);
//! - Ollama `/api/generate`: `think: false`.
//!
//! Endpoints differ in which efforts they take (`none` since GPT-5.1, `minimal` on GPT-5, `low`
//! on o-series and gpt-oss) and some reject a field they do not know. So the least effort is a
//! ladder: it starts from a guess by model name, and an endpoint that answers 400 naming the
//! value moves it one rung up (naming the field: drops the field), for this provider from then
//! on. The request that met the 400 is sent again at once, so the user sees no failure.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use serde_json::{Map, Value, json};

use crate::config::Reasoning as Setting;

/// The least efforts, from least to more; past the last rung no effort is sent.
const LADDER: [&str; 3] = ["none", "minimal", "low"];
const OMIT: u8 = LADDER.len() as u8;

/// Where a request carries its reasoning switch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `reasoning: {effort}` (Responses).
    Responses,
    /// `reasoning_effort`, plus the chat template switch when `template_switch`.
    Chat { template_switch: bool },
    /// `think: false` (Ollama's native API).
    OllamaThink,
    /// No switch on this wire (FIM endpoints of code models, Anthropic without thinking).
    Nothing,
}

/// One provider's reasoning setting and what its endpoint has refused so far.
#[derive(Debug)]
pub(crate) struct Reasoning {
    setting: Setting,
    /// The rung of [`LADDER`] the least effort is at ([`OMIT`]: send none).
    floor: AtomicU8,
    /// The endpoint refused `chat_template_kwargs` (or `think`).
    switch_refused: AtomicBool,
}

impl Reasoning {
    pub fn new(setting: Setting, model: &str) -> Self {
        Self {
            setting,
            floor: AtomicU8::new(first_rung(model)),
            switch_refused: AtomicBool::new(false),
        }
    }

    /// The effort to ask for, if any.
    pub fn effort(&self) -> Option<&'static str> {
        match self.setting {
            Setting::Least => LADDER
                .get(self.floor.load(Ordering::Relaxed) as usize)
                .copied(),
            Setting::Low => Some("low"),
            Setting::Medium => Some("medium"),
            Setting::High => Some("high"),
            Setting::ModelDefault => None,
        }
    }

    /// Whether thinking is switched off outright where the wire has a switch.
    fn switch_off(&self) -> bool {
        self.setting == Setting::Least && !self.switch_refused.load(Ordering::Relaxed)
    }

    /// Puts this setting into a request body of `shape`, replacing what an earlier attempt put.
    pub fn apply(&self, shape: Shape, body: &mut Map<String, Value>) {
        for field in [
            "reasoning",
            "reasoning_effort",
            "chat_template_kwargs",
            "think",
        ] {
            body.remove(field);
        }
        let effort = self.effort();
        match shape {
            Shape::Responses => {
                if let Some(effort) = effort {
                    body.insert("reasoning".into(), json!({ "effort": effort }));
                }
            }
            Shape::Chat { template_switch } => {
                if let Some(effort) = effort {
                    body.insert("reasoning_effort".into(), json!(effort));
                }
                if template_switch && self.switch_off() {
                    let kwargs = json!({"enable_thinking": false});
                    body.insert("chat_template_kwargs".into(), kwargs);
                }
            }
            Shape::OllamaThink => {
                if self.switch_off() {
                    body.insert("think".into(), json!(false));
                }
            }
            Shape::Nothing => {}
        }
    }

    /// An endpoint answered 400 with `message` to a body `apply` built: when the message is
    /// about a reasoning field this setting sent, steps past it and returns true (send again).
    pub fn refused(&self, message: &str, body: &Map<String, Value>) -> bool {
        let message = message.to_ascii_lowercase();
        let sent_switch = body.contains_key("chat_template_kwargs") || body.contains_key("think");
        if sent_switch && (message.contains("chat_template_kwargs") || message.contains("think")) {
            self.switch_refused.store(true, Ordering::Relaxed);
            tracing::info!("the endpoint refused the thinking switch; not sending it again");
            return true;
        }
        let Some(sent) = sent_effort(body) else {
            return false;
        };
        if !message.contains("reasoning") {
            return false;
        }
        let rung = LADDER.iter().position(|e| *e == sent).map(|r| r as u8);
        let next = match rung {
            // The value was refused: try the next rung; the field itself: send none.
            Some(rung) if self.setting == Setting::Least && names_value(&message, sent) => rung + 1,
            _ => OMIT,
        };
        let current = self.floor.load(Ordering::Relaxed);
        if self.setting != Setting::Least {
            // A chosen effort the endpoint refuses is the user's to change; say so once.
            tracing::warn!("the endpoint refused reasoning effort {sent:?}: {message}");
            return false;
        }
        if next > current {
            self.floor.store(next, Ordering::Relaxed);
        }
        tracing::info!(
            refused = sent,
            "the endpoint refused a reasoning effort; stepping up"
        );
        true
    }
}

fn sent_effort(body: &Map<String, Value>) -> Option<&str> {
    body.get("reasoning_effort")
        .or_else(|| body.get("reasoning").and_then(|r| r.get("effort")))
        .and_then(Value::as_str)
}

/// Whether an error message names the refused value (`'none'`, `"none"`), as OpenAI's
/// "Unsupported value: 'reasoning.effort' does not support 'none' with this model" does.
fn names_value(message: &str, value: &str) -> bool {
    message.contains(&format!("'{value}'")) || message.contains(&format!("\"{value}\""))
}

/// The least effort a model is known to take, by its name: `minimal` for the first GPT-5
/// models, `low` for o-series and the first Codex models, nothing for models that do not
/// reason and reject the field (GPT-4 and older on OpenAI), else `none`.
fn first_rung(model: &str) -> u8 {
    let name = model
        .rsplit('/')
        .next()
        .unwrap_or(model)
        .to_ascii_lowercase();
    let without_date = strip_date(&name);
    let rung = |effort: &str| LADDER.iter().position(|e| *e == effort).unwrap_or(0) as u8;
    if ["gpt-4", "gpt-3", "chatgpt-"]
        .iter()
        .any(|p| name.starts_with(p))
    {
        OMIT
    } else if ["gpt-5", "gpt-5-mini", "gpt-5-nano"].contains(&without_date) {
        rung("minimal")
    } else if ["o1", "o3", "o4", "gpt-5-codex", "codex-mini", "gpt-oss"]
        .iter()
        .any(|p| name.starts_with(p))
    {
        rung("low")
    } else {
        rung("none")
    }
}

/// `gpt-5-mini-2025-08-07` → `gpt-5-mini`: OpenAI's dated snapshots end in `-YYYY-MM-DD`.
fn strip_date(name: &str) -> &str {
    let Some(cut) = name.len().checked_sub(11) else {
        return name;
    };
    let (base, date) = name.split_at(cut);
    let is_date = date.len() == 11
        && date.char_indices().all(|(i, c)| match i {
            0 | 5 | 8 => c == '-',
            _ => c.is_ascii_digit(),
        });
    if is_date { base } else { name }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(reasoning: &Reasoning, shape: Shape) -> Map<String, Value> {
        let mut body = Map::new();
        reasoning.apply(shape, &mut body);
        body
    }

    #[test]
    fn the_least_effort_starts_from_the_model_name() {
        let effort = |model| Reasoning::new(Setting::Least, model).effort();
        assert_eq!(effort("gpt-5.3-codex-spark"), Some("none"));
        assert_eq!(effort("gpt-5.1"), Some("none"));
        assert_eq!(effort("gpt-5"), Some("minimal"));
        assert_eq!(effort("gpt-5-mini-2025-08-07"), Some("minimal"));
        assert_eq!(effort("openai/gpt-oss-120b"), Some("low"));
        assert_eq!(effort("o4-mini"), Some("low"));
        assert_eq!(effort("gpt-4.1"), None);
        assert_eq!(effort("qwen3-coder"), Some("none"));
        assert_eq!(
            Reasoning::new(Setting::High, "gpt-4.1").effort(),
            Some("high")
        );
        assert_eq!(
            Reasoning::new(Setting::ModelDefault, "gpt-5").effort(),
            None
        );
    }

    #[test]
    fn each_wire_gets_its_own_switch() {
        let least = Reasoning::new(Setting::Least, "qwen3");
        assert_eq!(
            Value::Object(body_of(
                &least,
                Shape::Chat {
                    template_switch: true
                }
            )),
            json!({"reasoning_effort": "none", "chat_template_kwargs": {"enable_thinking": false}})
        );
        assert_eq!(
            Value::Object(body_of(
                &least,
                Shape::Chat {
                    template_switch: false
                }
            )),
            json!({"reasoning_effort": "none"})
        );
        assert_eq!(
            Value::Object(body_of(&least, Shape::Responses)),
            json!({"reasoning": {"effort": "none"}})
        );
        assert_eq!(
            Value::Object(body_of(&least, Shape::OllamaThink)),
            json!({"think": false})
        );
        let default = Reasoning::new(Setting::ModelDefault, "qwen3");
        let chat = Shape::Chat {
            template_switch: true,
        };
        assert!(body_of(&default, chat).is_empty());
        assert!(body_of(&least, Shape::Nothing).is_empty());
    }

    #[test]
    fn a_refused_value_steps_up_the_ladder_and_a_refused_field_is_dropped() {
        let least = Reasoning::new(Setting::Least, "gpt-5.2");
        let body = body_of(&least, Shape::Responses);
        let refused = "HTTP 400: Unsupported value: 'reasoning.effort' does not support 'none' with this model.";
        assert!(least.refused(refused, &body));
        assert_eq!(least.effort(), Some("minimal"));
        // An unrelated 400 is not retried.
        let body = body_of(&least, Shape::Responses);
        assert!(!least.refused("HTTP 400: bad model", &body));
        assert_eq!(least.effort(), Some("minimal"));
        // The field itself is unknown: no effort from now on, and no retry loop.
        assert!(least.refused(
            "HTTP 400: Unrecognized request argument supplied: reasoning",
            &body
        ));
        assert_eq!(least.effort(), None);
        let body = body_of(&least, Shape::Responses);
        assert!(body.is_empty());
        assert!(!least.refused("HTTP 400: reasoning", &body));
    }

    #[test]
    fn a_refused_template_switch_is_dropped_alone() {
        let least = Reasoning::new(Setting::Least, "llama-3");
        let chat = Shape::Chat {
            template_switch: true,
        };
        let body = body_of(&least, chat);
        assert!(least.refused(
            "HTTP 400: property 'chat_template_kwargs' is unsupported",
            &body
        ));
        assert_eq!(
            Value::Object(body_of(&least, chat)),
            json!({"reasoning_effort": "none"})
        );
    }

    #[test]
    fn a_chosen_effort_is_never_changed_behind_the_users_back() {
        let high = Reasoning::new(Setting::High, "gpt-5");
        let body = body_of(&high, Shape::Responses);
        assert!(!high.refused(
            "HTTP 400: 'reasoning.effort' does not support 'high'",
            &body
        ));
        assert_eq!(high.effort(), Some("high"));
    }
}
