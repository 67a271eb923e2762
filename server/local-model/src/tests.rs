//! The engine against the real SmolLM2-135M GGUF (`scripts/fetch-model` puts it in the cache
//! directory; `scripts/test` fetches it first): loading, the tokenizer, kernels in context,
//! deterministic greedy generation, prefix reuse, stop strings, and clear errors for bad files.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use expect_test::expect;
use proptest::prelude::*;

use crate::engine::{Engine, Flow, Params, Stats};
use crate::gguf::Header;
use crate::kernels::{DType, Isa, Pool};
use crate::model::{Cache, Config, Model};
use crate::tokenizer::{TokenId, Tokenizer, Utf8Stream};

/// The model file: `SPARK_LOCAL_MODEL`, else the default one in the cache directory.
pub fn model_path() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_default();
    let path = std::env::var_os("SPARK_LOCAL_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache.join("spark-lsp/models/SmolLM2-135M-Instruct.Q4_1.gguf"));
    assert!(
        path.is_file(),
        "the local model {} is missing: run scripts/fetch-model (scripts/test does)",
        path.display()
    );
    path
}

fn tokenizer() -> Tokenizer {
    let (header, _) = Header::read(&model_path()).expect("a GGUF header");
    Tokenizer::from_gguf(&header).expect("a tokenizer")
}

fn engine(isa: Isa) -> (Engine, Arc<Stats>) {
    let path = model_path();
    let (header, config, tokenizer) = crate::open(&path).expect("a usable GGUF");
    let mut model = Model::load(&path, &header, config).expect("the weights");
    model.set_isa(isa);
    let stats = Arc::new(Stats::default());
    let engine = Engine::new(model, Arc::new(tokenizer), 2, Arc::clone(&stats));
    (engine, stats)
}

/// A ChatML conversation, as the provider's template renders it.
fn chat(t: &Tokenizer, query: &str) -> Vec<TokenId> {
    let (start, end) = (1, 2);
    let mut out = vec![start];
    out.extend(t.encode("system\nYou are a concise assistant."));
    out.push(end);
    out.extend(t.encode("\n"));
    out.push(start);
    out.extend(t.encode(&format!("user\n{query}")));
    out.push(end);
    out.extend(t.encode("\n"));
    out.push(start);
    out.extend(t.encode("assistant\n"));
    out
}

fn generate(engine: &mut Engine, prompt: &[TokenId], max_tokens: usize, stop: &[&str]) -> String {
    let params = Params {
        max_tokens,
        stop: stop.iter().map(|s| (*s).to_owned()).collect(),
        ..Params::default()
    };
    generate_with(engine, prompt, &params)
}

/// Everything generated for `prompt` with `params`.
fn generate_with(engine: &mut Engine, prompt: &[TokenId], params: &Params) -> String {
    let mut text = String::new();
    engine.generate(prompt, params, &mut |delta| {
        text.push_str(delta);
        Flow::Continue
    });
    text
}

#[test]
fn loads_metadata_and_tensor_shapes() {
    let (header, _) = Header::read(&model_path()).expect("a GGUF header");
    assert_eq!(header.version, 3);
    assert_eq!(header.tensors.len(), 272);
    let embd = header.tensor("token_embd.weight").expect("token_embd");
    assert_eq!(
        (embd.dims.as_slice(), embd.dtype),
        (&[576, 49152][..], DType::Q8_0)
    );
    let k = header.tensor("blk.29.attn_k.weight").expect("attn_k");
    assert_eq!((k.dims.as_slice(), k.dtype), (&[576, 192][..], DType::Q4_1));
    assert!(header.tensor("output.weight").is_none(), "tied embeddings");
    let config = Config::from_header(&header).expect("a config");
    expect![[r#"
        Config {
            arch: "llama",
            n_embd: 576,
            n_layer: 30,
            n_head: 9,
            n_kv_head: 3,
            head_dim: 64,
            n_ff: 1536,
            vocab: 49152,
            eps: 1e-5,
            rope: Normal,
            n_rot: 64,
            rope_base: 100000.0,
            context: 4096,
        }"#]]
    .assert_eq(&format!("{config:#?}"));
}

#[test]
fn tokenizes_like_llama_cpp() {
    let t = tokenizer();
    // Expected ids from llama.cpp's tokenizer (llama-server /tokenize) on the same file.
    let cases: [(&str, &[u32]); 3] = [
        ("Hello world", &[19556, 905]),
        (
            "fn main() {\n    println!(\"héllo, 世界\");\n}",
            &[
                7853, 1085, 1000, 1662, 472, 1628, 34115, 17, 1470, 88, 2756, 31394, 28, 216, 7906,
                240, 178, 239, 230, 21646, 198, 109,
            ],
        ),
        (
            "x = 1234;  // 🚀 naïve",
            &[
                104, 446, 216, 33, 34, 35, 36, 43, 216, 13241, 15107, 244, 218, 15486, 46494,
            ],
        ),
    ];
    for (text, ids) in cases {
        let encoded = t.encode(text);
        assert_eq!(encoded, ids, "{text:?}");
        assert_eq!(t.decode(&encoded), text);
    }
    // The whole chat prompt, special tokens placed by id, as llama.cpp tokenizes it.
    assert_eq!(
        chat(&t, "What is the capital of France?"),
        [
            1, 9690, 198, 2683, 359, 253, 19484, 11173, 30, 2, 198, 1, 4093, 198, 1780, 314, 260,
            3575, 282, 4649, 47, 2, 198, 1, 520, 9531, 198
        ]
    );
    let im_start = t.token("<|im_start|>").expect("ChatML tokens");
    assert_eq!(im_start, 1);
    assert!(t.is_special(im_start));
    // Special-token spellings in user text stay text.
    assert_ne!(t.encode("<|im_start|>"), [im_start]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn encoding_round_trips(text in "(\\PC|[ \\n\\t]){0,60}") {
        let t = shared_tokenizer();
        let ids = t.encode(&text);
        prop_assert_eq!(t.decode(&ids), text.clone());
        // Streaming decode, token by token, emits only whole characters and loses nothing.
        let mut stream = Utf8Stream::default();
        let mut streamed = String::new();
        for id in ids {
            streamed.push_str(&stream.push(&t.bytes(id)));
        }
        prop_assert_eq!(streamed, text);
    }
}

fn shared_tokenizer() -> &'static Tokenizer {
    static TOKENIZER: std::sync::OnceLock<Tokenizer> = std::sync::OnceLock::new();
    TOKENIZER.get_or_init(tokenizer)
}

#[test]
fn greedy_generation_is_deterministic() {
    let (mut engine, _) = engine(Isa::detect());
    let prompt = chat(&engine.tokenizer, "What is the capital of France?");
    let text = generate(&mut engine, &prompt, 24, &[]);
    // llama.cpp's llama-server answers the same prompt, greedy, with the same text.
    expect!["The capital of France is Paris."].assert_eq(&text);
    // The same prompt again reuses the cache and answers the same.
    assert_eq!(generate(&mut engine, &prompt, 24, &[]), text);
}

#[test]
fn simd_and_scalar_kernels_give_the_same_logits() {
    let (simd, _) = engine(Isa::detect());
    let (scalar, _) = engine(Isa::Scalar);
    let tokens = simd.tokenizer.encode("fn add(a: i32, b: i32) -> i32 {");
    let pool = Pool::new(2);
    let run = |e: &Engine| {
        let mut cache = Cache::new(&e.model.config);
        e.model.forward(&pool, &mut cache, &tokens)
    };
    let (a, b) = (run(&simd), run(&scalar));
    // Summation order differs, and a last-bit difference can round an activation to the next
    // Q8 step in a later layer: the logits agree closely, not bit for bit.
    let mean_diff = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len() as f32;
    let spread = a.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x))
        - a.iter().fold(f32::INFINITY, |m, &x| m.min(x));
    assert!(
        mean_diff < 0.03 * spread,
        "mean difference {mean_diff}, spread {spread}"
    );
    assert_eq!(argmax(&a), argmax(&b));
}

fn argmax(v: &[f32]) -> usize {
    v.iter()
        .enumerate()
        .fold(
            (0, f32::NEG_INFINITY),
            |b, (i, &x)| if x > b.1 { (i, x) } else { b },
        )
        .0
}

#[test]
fn batched_prefill_matches_one_token_at_a_time() {
    let (e, _) = engine(Isa::detect());
    let tokens = e
        .tokenizer
        .encode("let total = items.iter().map(|x| x.len()).sum();");
    let pool = Pool::new(2);
    let mut cache = Cache::new(&e.model.config);
    let batched = e.model.forward(&pool, &mut cache, &tokens);
    let mut cache = Cache::new(&e.model.config);
    let mut single = Vec::new();
    for &t in &tokens {
        single = e.model.forward(&pool, &mut cache, &[t]);
    }
    let diff = batched
        .iter()
        .zip(&single)
        .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
    assert!(diff < 1e-3, "logits differ by {diff}");
}

#[test]
fn a_shared_prefix_prefills_only_the_suffix() {
    let (mut engine, stats) = engine(Isa::detect());
    let first = engine
        .tokenizer
        .encode("def fibonacci(n):\n    if n < 2:\n        return n\n");
    let suffix = engine.tokenizer.encode("    return fibonacci(n - 1)");
    let params = Params {
        max_tokens: 1,
        ..Params::default()
    };
    engine.generate(&first, &params, &mut |_| Flow::Continue);
    assert_eq!(stats.prefilled.load(Ordering::SeqCst), first.len() as u64);
    let second: Vec<u32> = first.iter().chain(&suffix).copied().collect();
    engine.generate(&second, &params, &mut |_| Flow::Continue);
    assert_eq!(
        stats.prefilled.load(Ordering::SeqCst),
        (first.len() + suffix.len()) as u64
    );
    assert_eq!(stats.reused.load(Ordering::SeqCst), first.len() as u64);
}

#[test]
fn stop_strings_end_the_answer_and_are_not_emitted() {
    let (mut engine, _) = engine(Isa::detect());
    let prompt = chat(
        &engine.tokenizer,
        "Count from 1 to 20, separated by commas.",
    );
    let full = generate(&mut engine, &prompt, 64, &[]);
    let Some(at) = full.find('5') else {
        panic!("expected a 5 in {full:?}");
    };
    assert_eq!(generate(&mut engine, &prompt, 64, &["5"]), full[..at]);
}

/// Writes a GGUF with the given string metadata and one tensor of GGML type `tensor_type`.
fn tiny_gguf(name: &str, metadata: &[(&str, &str)], tensor_type: u32) -> PathBuf {
    let mut b = Vec::new();
    let string = |b: &mut Vec<u8>, s: &str| {
        b.extend((s.len() as u64).to_le_bytes());
        b.extend(s.as_bytes());
    };
    b.extend(b"GGUF");
    b.extend(3u32.to_le_bytes());
    b.extend(1u64.to_le_bytes());
    b.extend((metadata.len() as u64).to_le_bytes());
    for (key, value) in metadata {
        string(&mut b, key);
        b.extend(8u32.to_le_bytes());
        string(&mut b, value);
    }
    string(&mut b, "token_embd.weight");
    b.extend(2u32.to_le_bytes());
    b.extend(32u64.to_le_bytes());
    b.extend(2u64.to_le_bytes());
    b.extend(tensor_type.to_le_bytes());
    b.extend(0u64.to_le_bytes());
    b.resize(b.len().div_ceil(32) * 32 + 256, 0);
    let path = std::env::temp_dir().join(format!("spark-local-{}-{name}.gguf", std::process::id()));
    std::fs::write(&path, b).expect("a temp file");
    path
}

fn start_error(path: &std::path::Path) -> String {
    match crate::open(path) {
        Err(message) => message,
        Ok(_) => panic!("expected {} to be refused", path.display()),
    }
}

#[test]
fn bad_files_are_configuration_errors() {
    let missing = std::env::temp_dir().join("spark-local-no-such-model.gguf");
    assert!(start_error(&missing).contains("cannot open"));

    let garbage =
        std::env::temp_dir().join(format!("spark-local-{}-garbage.gguf", std::process::id()));
    std::fs::write(&garbage, b"definitely not a model").expect("a temp file");
    assert!(start_error(&garbage).contains("not a GGUF file"));

    let bert = tiny_gguf("bert", &[("general.architecture", "bert")], 0);
    assert!(start_error(&bert).contains("architecture \"bert\" is not supported"));

    let odd_type = tiny_gguf("type", &[("general.architecture", "llama")], 99);
    assert!(start_error(&odd_type).contains("type 99, which is not supported"));

    let no_tokenizer = tiny_gguf("notok", &[("general.architecture", "llama")], 0);
    assert!(start_error(&no_tokenizer).contains("no llama.embedding_length"));

    for path in [garbage, bert, odd_type, no_tokenizer] {
        let _ = std::fs::remove_file(path);
    }
}

#[test]
fn a_truncated_file_is_refused_when_its_weights_load() {
    let path =
        std::env::temp_dir().join(format!("spark-local-{}-truncated.gguf", std::process::id()));
    let bytes = std::fs::read(model_path()).expect("the model");
    std::fs::write(&path, &bytes[..8 << 20]).expect("a temp file");
    let (header, config, _) = crate::open(&path).expect("the header is intact");
    let message = Model::load(&path, &header, config)
        .err()
        .unwrap_or_default();
    assert!(message.contains("truncated"), "{message}");
    let _ = std::fs::remove_file(path);
}

/// Token healing law: asked to begin with the bytes of the token the model would pick anyway,
/// the model picks it and goes on exactly as it would have, without emitting those bytes.
#[test]
fn healing_with_the_models_own_next_token_changes_nothing_but_hides_it() {
    let (mut engine, _) = engine(Isa::detect());
    let prompt = engine
        .tokenizer
        .encode("def fibonacci(n):\n    if n < 2:\n        return n\n    return");
    let plain = generate(&mut engine, &prompt, 8, &[]);
    let first = engine.tokenizer.encode(&plain)[0];
    let heal = engine.tokenizer.bytes(first);
    let params = Params {
        max_tokens: 8,
        heal: heal.clone(),
        ..Params::default()
    };
    let healed = generate_with(&mut engine, &prompt, &params);
    let heal = String::from_utf8(heal).expect("a whole token of text");
    assert!(plain.starts_with(&heal), "{plain:?} {heal:?}");
    assert!(
        plain[heal.len()..].starts_with(&healed),
        "{plain:?} then {healed:?}"
    );
    assert!(!healed.is_empty());
}

/// Healing a cut word: the answer goes on with the word (`retur` + `n …`), never with a token
/// that does not start with the healed bytes.
#[test]
fn a_healed_answer_continues_the_cut_text() {
    let (mut engine, _) = engine(Isa::detect());
    let prompt = engine
        .tokenizer
        .encode("def fibonacci(n):\n    if n < 2:\n       ");
    let params = Params {
        max_tokens: 4,
        heal: b" retur".to_vec(),
        ..Params::default()
    };
    let text = generate_with(&mut engine, &prompt, &params);
    assert!(text.starts_with('n'), "{text:?}");
}
