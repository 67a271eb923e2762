//! Unit tests of the transport: header blocks, message decoding, and the frame reader's
//! resynchronisation (table tests and a property: garbage never costs a valid frame).

use proptest::prelude::*;
use tower_lsp_server::jsonrpc::Id;

use super::header::{self, Headers};
use super::{Decoded, FrameReader, MAX_BODY_BYTES, decode};

fn frame(body: &str) -> Vec<u8> {
    format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

/// Every body the reader returns for `input`, delivered `chunk` bytes at a time.
fn bodies(input: &[u8], chunk: usize) -> Vec<Vec<u8>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (mut writer, reader) = tokio::io::duplex(chunk.max(1));
        let input = input.to_vec();
        let feed = async move {
            use tokio::io::AsyncWriteExt;
            for piece in input.chunks(chunk.max(1)) {
                if writer.write_all(piece).await.is_err() {
                    return;
                }
            }
        };
        let read = async {
            let mut frames = FrameReader::new(reader);
            let mut out = Vec::new();
            while let Some(body) = frames.next().await {
                out.push(body.to_vec());
            }
            out
        };
        tokio::join!(feed, read).1
    })
}

#[test]
fn header_blocks() {
    let ok = |length| {
        Ok(Headers {
            content_length: length,
            charset: Ok(()),
        })
    };
    let cases: &[(&str, Result<Headers, ()>)] = &[
        ("Content-Length: 12", ok(12)),
        ("content-length:12", ok(12)),
        ("CONTENT-LENGTH: \t7 ", ok(7)),
        (
            "Content-Type: application/vscode-jsonrpc; charset=utf-8\r\nContent-Length: 3",
            ok(3),
        ),
        (
            "Content-Length: 3\r\ncontent-type: application/vscode-jsonrpc",
            ok(3),
        ),
        (
            "Content-Length: 3\r\nContent-Type: application/vscode-jsonrpc; charset=UTF8",
            ok(3),
        ),
        (
            "Content-Length: 3\r\nContent-Type: a/b; charset=\"utf-8\"",
            ok(3),
        ),
        ("Content-Length: 3\nX-Editor: eglot", ok(3)),
        ("Content-Length: 3\r\nContent-Length: 3", ok(3)),
        (
            "Content-Length: 3\r\nContent-Type: a/b; charset=latin1",
            Ok(Headers {
                content_length: 3,
                charset: Err("latin1".into()),
            }),
        ),
        ("Content-Length: 99999999999999999999999", ok(u64::MAX)),
        ("Content-Type: application/vscode-jsonrpc", Err(())),
        ("Content-Length: 12x", Err(())),
        ("Content-Length: -1", Err(())),
        ("Content-Length:", Err(())),
        ("Content-Length: 3\r\nContent-Length: 4", Err(())),
        ("garbage", Err(())),
        ("bad name: 1\r\nContent-Length: 3", Err(())),
        ("Content-Length: 12\r\n#Content-Length: 48", Err(())),
        ("Content-Length: 12\r\nX: yContent-Length: 48", Err(())),
        ("Content-Length: 12Content-Length: 48", Err(())),
    ];
    for (block, expected) in cases {
        let parsed = header::parse(block.as_bytes()).map_err(|_| ());
        assert_eq!(&parsed, expected, "{block:?}");
    }
}

#[test]
fn message_decoding() {
    let deep = format!(
        r#"{{"jsonrpc":"2.0","method":"m","params":{}{}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    // (body, error code or 0 for a valid message, the id of the error reply)
    let cases: Vec<(Vec<u8>, i64, Id)> = vec![
        (
            br#"{"jsonrpc":"2.0","id":1,"method":"m","params":{}}"#.to_vec(),
            0,
            Id::Null,
        ),
        (
            br#"{"jsonrpc":"2.0","id":"a","method":"m"}"#.to_vec(),
            0,
            Id::Null,
        ),
        (
            br#"{"jsonrpc":"2.0","method":"m","params":[1],"extra":{"x":[true]}}"#.to_vec(),
            0,
            Id::Null,
        ),
        (
            br#"{"jsonrpc":"2.0","id":3,"result":null}"#.to_vec(),
            0,
            Id::Null,
        ),
        (
            br#"{"jsonrpc":"2.0","id":3,"error":{"code":-1,"message":"no"}}"#.to_vec(),
            0,
            Id::Null,
        ),
        (
            br#"{"jsonrpc":"2.0","id":null,"error":{"code":-1,"message":"no","x":1}}"#.to_vec(),
            0,
            Id::Null,
        ),
        (
            br#"{"jsonrpc":"2.0","id":1.5,"method":"m"}"#.to_vec(),
            -32600,
            Id::Null,
        ),
        (
            br#"{"jsonrpc":"2.0","id":null,"method":"m"}"#.to_vec(),
            -32600,
            Id::Null,
        ),
        (
            br#"{"jsonrpc":"2.0","id":true,"method":"m"}"#.to_vec(),
            -32600,
            Id::Null,
        ),
        (
            br#"{"jsonrpc":"2.0","id":{"a":1},"method":"m"}"#.to_vec(),
            -32600,
            Id::Null,
        ),
        (
            br#"{"jsonrpc":"2.0","id":18446744073709551615,"method":"m"}"#.to_vec(),
            -32600,
            Id::Null,
        ),
        (br#"{"id":7,"method":"m"}"#.to_vec(), -32600, Id::Number(7)),
        (
            br#"{"jsonrpc":"1.0","id":"s","method":"m"}"#.to_vec(),
            -32600,
            Id::String("s".into()),
        ),
        (
            br#"{"jsonrpc":2,"id":8,"method":"m"}"#.to_vec(),
            -32600,
            Id::Number(8),
        ),
        (
            br#"{"jsonrpc":"2.0","id":9,"method":5}"#.to_vec(),
            -32600,
            Id::Number(9),
        ),
        (
            br#"{"jsonrpc":"2.0","id":9,"id":10,"method":"m"}"#.to_vec(),
            -32600,
            Id::Number(10),
        ),
        (
            br#"{"jsonrpc":"2.0","id":9}"#.to_vec(),
            -32600,
            Id::Number(9),
        ),
        (
            br#"{"jsonrpc":"2.0","result":1}"#.to_vec(),
            -32600,
            Id::Null,
        ),
        (
            br#"{"jsonrpc":"2.0","id":9,"result":1,"error":{"code":1,"message":""}}"#.to_vec(),
            -32600,
            Id::Number(9),
        ),
        (
            br#"[{"jsonrpc":"2.0","id":1,"method":"m"}]"#.to_vec(),
            -32600,
            Id::Null,
        ),
        (b"[]".to_vec(), -32600, Id::Null),
        (b"42".to_vec(), -32600, Id::Null),
        (br#""text""#.to_vec(), -32600, Id::Null),
        (b"null".to_vec(), -32600, Id::Null),
        (
            b"{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":{\"a\":\"\xff\xfe\"}}".to_vec(),
            -32700,
            Id::Null,
        ),
        (
            b"{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"x\":\"\xc3\"}".to_vec(),
            -32700,
            Id::Null,
        ),
        (
            br#"{"jsonrpc":"2.0","method":"m","params":{"a":"\ud800"}}"#.to_vec(),
            -32700,
            Id::Null,
        ),
        (
            br#"{"jsonrpc":"2.0","method":"m","unused":"\udc00x"}"#.to_vec(),
            -32700,
            Id::Null,
        ),
        (deep.into_bytes(), -32700, Id::Null),
        (
            br#"{"jsonrpc":"2.0","method":"m""#.to_vec(),
            -32700,
            Id::Null,
        ),
        (
            br#"{"jsonrpc":"2.0","method":"m"} x"#.to_vec(),
            -32700,
            Id::Null,
        ),
        (br#"[1,"#.to_vec(), -32700, Id::Null),
        (b"".to_vec(), -32700, Id::Null),
    ];
    for (body, code, id) in cases {
        let shown = String::from_utf8_lossy(&body[..body.len().min(80)]).into_owned();
        match decode(&body) {
            Decoded::Request(_) | Decoded::Response(_) => assert_eq!(code, 0, "{shown}"),
            Decoded::Invalid(reply) => {
                let error = reply.error().expect("an error reply");
                assert_eq!(error.code.code(), code, "{shown}: {}", error.message);
                assert_eq!(reply.id(), &id, "{shown}");
            }
        }
    }
}

#[test]
fn decoded_request_keeps_method_id_and_params() {
    let Decoded::Request(request) =
        decode(br#"{"params":{"a":[1,"\u00e9"]},"method":"x/y","id":"k","jsonrpc":"2.0"}"#)
    else {
        panic!("not a request");
    };
    assert_eq!(request.method(), "x/y");
    assert_eq!(request.id(), Some(&Id::String("k".into())));
    assert_eq!(request.params(), Some(&serde_json::json!({"a": [1, "é"]})));
}

#[test]
fn resynchronisation() {
    let a = r#"{"jsonrpc":"2.0","id":1,"method":"a"}"#;
    let b = r#"{"jsonrpc":"2.0","id":2,"method":"b"}"#;
    let cat = |parts: &[&[u8]]| parts.concat();
    let fa = frame(a);
    let fb = frame(b);
    let short = format!("Content-Length: {}\r\n\r\n{}", a.len() + 40, a);
    let long = format!("Content-Length: {}\r\n\r\n{}", a.len() - 5, a);
    let cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        ("two frames", cat(&[&fa, &fb]), vec![a, b]),
        (
            "empty body",
            cat(&[b"Content-Length: 0\r\n\r\n", &fb]),
            vec![b],
        ),
        (
            "blank lines between",
            cat(&[&fa, b"\r\n\r\n", &fb]),
            vec![a, b],
        ),
        (
            "garbage before",
            cat(&[b"\x00\xffgarbage: x\r\n\r\n}", &fb]),
            vec![b],
        ),
        ("glued garbage", cat(&[b"xyz", &fb]), vec![b]),
        (
            "missing length",
            cat(&[b"Content-Type: a/b\r\n\r\n{}", &fb]),
            vec![b],
        ),
        (
            "bad length",
            cat(&[b"Content-Length: ten\r\n\r\n{}", &fb]),
            vec![b],
        ),
        (
            "header cut off",
            cat(&[b"Content-Length: 12", &fb]),
            vec![b],
        ),
        (
            "header line cut off",
            cat(&[b"Content-Length: 12\r\n", &fb]),
            vec![b],
        ),
        (
            "lf only",
            format!("content-length: {}\n\n{b}", b.len()).into_bytes(),
            vec![b],
        ),
        ("short body", cat(&[short.as_bytes(), &fb]), vec![b]),
        (
            "short body, then nothing",
            short.as_bytes().to_vec(),
            vec![],
        ),
        (
            "long body",
            cat(&[long.as_bytes(), &fb]),
            vec![&a[..a.len() - 5], b],
        ),
        (
            "latin1 skipped",
            cat(&[
                format!(
                    "Content-Length: {}\r\nContent-Type: a/b; charset=latin1\r\n\r\n{a}",
                    a.len()
                )
                .as_bytes(),
                &fb,
            ]),
            vec![b],
        ),
        (
            "over the limit, then a frame",
            cat(&[
                format!("Content-Length: {}\r\n\r\n{{", MAX_BODY_BYTES + 1).as_bytes(),
                &fb,
            ]),
            vec![b],
        ),
        (
            "header without end",
            cat(&[&vec![b'x'; 10_000], &fb]),
            vec![b],
        ),
    ];
    for (name, input, expected) in &cases {
        for chunk in [1, 7, 1 << 16] {
            let got = bodies(input, chunk);
            let got: Vec<_> = got.iter().map(|b| String::from_utf8_lossy(b)).collect();
            assert_eq!(&got, expected, "{name} (chunk {chunk})");
        }
    }
}

/// Every cut of a frame's own header, as a shorter-than-announced body would end, still lets
/// the frame through.
#[test]
fn body_ending_inside_the_next_header() {
    let a = r#"{"jsonrpc":"2.0","id":1,"method":"a"}"#;
    let b = r#"{"jsonrpc":"2.0","id":2,"method":"b"}"#;
    let fb = frame(b);
    for extra in 1..=fb.len() + 3 {
        let input = [
            format!("Content-Length: {}\r\n\r\n{a}", a.len() + extra).as_bytes(),
            &fb,
        ]
        .concat();
        let got = bodies(&input, 1 << 16);
        assert_eq!(
            got.last().map(Vec::as_slice),
            Some(b.as_bytes()),
            "extra {extra}"
        );
    }
}

/// A body over the limit is dropped as it streams by: the buffer never holds it.
#[test]
fn oversized_body_is_not_buffered() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let len = MAX_BODY_BYTES as usize + 4096;
        let mut input = format!("Content-Length: {len}\r\n\r\n").into_bytes();
        input.resize(input.len() + len, b' ');
        input.extend(frame(r#"{"jsonrpc":"2.0","method":"b"}"#));
        let mut frames = FrameReader::new(input.as_slice());
        assert!(frames.next().await.is_some());
        let capacity = frames.buffer_capacity();
        assert!(capacity < 1 << 20, "{capacity}");
    });
}

#[derive(Debug, Clone)]
enum Piece {
    Valid,
    Garbage(Vec<u8>),
    /// A frame whose Content-Length is off by this much from its body.
    WrongLength(i64),
    Header(&'static str),
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        3 => Just(Piece::Valid),
        2 => proptest::collection::vec(any::<u8>(), 0..80).prop_map(Piece::Garbage),
        1 => (-30i64..200).prop_map(Piece::WrongLength),
        1 => prop::sample::select(vec![
            "Content-Length: 0\r\n\r\n",
            "Content-Length: x\r\n\r\n",
            "Content-Length: 12",
            "Content-Length: 12\r\n",
            "content-length: 99999999999\r\n\r\n",
            "Content-Type: a/b\r\n\r\n",
            "\r\n\r\n",
        ]).prop_map(Piece::Header),
    ]
}

/// Builds the byte stream and the valid bodies in it, in order.
fn render(pieces: &[Piece]) -> (Vec<u8>, Vec<String>) {
    let mut bytes = Vec::new();
    let mut valid = Vec::new();
    for (n, piece) in pieces.iter().enumerate() {
        match piece {
            Piece::Valid => {
                let body = format!(r#"{{"jsonrpc":"2.0","id":{n},"method":"spark/stats"}}"#);
                bytes.extend(frame(&body));
                valid.push(body);
            }
            Piece::Garbage(garbage) => bytes.extend(garbage),
            Piece::WrongLength(delta) => {
                let body = r#"{"jsonrpc":"2.0","method":"x","params":{"t":"abc"}}"#;
                let len = (body.len() as i64 + delta).max(1);
                bytes.extend(format!("Content-Length: {len}\r\n\r\n{body}").as_bytes());
            }
            Piece::Header(header) => bytes.extend(header.as_bytes()),
        }
    }
    (bytes, valid)
}

/// Cases per run: enough for CI; `scripts/fuzz-transport` raises it through `SPARK_FUZZ_CASES`.
fn cases() -> u32 {
    std::env::var("SPARK_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// Garbage and malformed frames between valid frames never cost a valid frame, whatever
    /// the read sizes.
    #[test]
    fn garbage_never_costs_a_valid_frame(
        pieces in proptest::collection::vec(piece(), 1..12),
        chunk in prop_oneof![Just(1usize), 2usize..64, Just(1 << 16)],
    ) {
        let mut pieces = pieces;
        pieces.push(Piece::Valid);
        let (bytes, valid) = render(&pieces);
        let got: Vec<String> = bodies(&bytes, chunk)
            .into_iter()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .filter(|b| valid.contains(b))
            .collect();
        prop_assert_eq!(got, valid);
    }
}
