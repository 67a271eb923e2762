//! Unit tests of the frame reader's resynchronisation: tables of malformed streams, and a
//! property (garbage and malformed frames never cost a valid frame, whatever the read sizes).

use proptest::prelude::*;

use super::{FrameReader, MAX_BODY_BYTES};

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
