use super::*;

/// A decoded part: (name, filename, data).
type Part = (Option<String>, Option<String>, Vec<u8>);

/// Feeds `body` in `chunk`-sized reads, as the parser does, and collects the
/// parts.
fn decode(body: &[u8], chunk: usize, max_mem: Option<u64>) -> Result<Vec<Part>, DecodeError> {
    let mut d = MultipartDecoder::new(b"B", max_mem, None);
    let mut parts: Vec<Part> = Vec::new();
    let mut pieces = body.chunks(chunk).map(Some).chain(std::iter::once(None));
    for piece in &mut pieces {
        d.receive_data(piece)?;
        loop {
            match d.next_event()? {
                Event::NeedData | Event::Epilogue => break,
                Event::Preamble => {}
                Event::Field { name, .. } => parts.push((name, None, Vec::new())),
                Event::File { name, filename, .. } => {
                    parts.push((name, Some(filename), Vec::new()))
                }
                Event::Data { data, .. } => parts.last_mut().expect("part").2.extend(data),
            }
        }
    }
    Ok(parts)
}

fn part(name: &str, filename: Option<&str>, data: &[u8]) -> Part {
    (Some(name.into()), filename.map(Into::into), data.to_vec())
}

const BODY: &[u8] = b"pre\r\n--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\none\r\ntwo\r\n\
--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.txt\"\r\nContent-Type: text/plain\r\n\r\n\
\r\n--B-not\r\n--Bx\r\n\r\r\n\n--\r\n\
--B\r\nContent-Disposition: form-data; name=\"e\"\r\n\r\n\r\n--B--\r\n";

#[test]
fn fields_files_and_data_that_looks_like_boundaries() {
    let expected = vec![
        part("a", None, b"one\r\ntwo"),
        part("f", Some("x.txt"), b"\r\n--B-not\r\n--Bx\r\n\r\r\n\n--"),
        part("e", None, b""),
    ];
    assert_eq!(decode(BODY, 1 << 16, None).unwrap(), expected);
}

#[test]
fn read_sizes_give_werkzeugs_results() {
    let mut whole = decode(BODY, 1 << 16, None).unwrap();
    for chunk in [2, 5, 7, 11, 13, 64] {
        assert_eq!(
            decode(BODY, chunk, None).unwrap(),
            whole,
            "reads of {chunk}"
        );
    }
    // Werkzeug's decoder keeps a CR of an empty last part when a read ends
    // right after it (checked against MultipartDecoder with these reads).
    whole[2].2 = b"\r".to_vec();
    for chunk in [1, 3] {
        assert_eq!(
            decode(BODY, chunk, None).unwrap(),
            whole,
            "reads of {chunk}"
        );
    }
}

#[test]
fn werkzeug_encoder_empty_part_shares_the_blank_line() {
    // werkzeug.test.encode_multipart({'a': '', 'b': 'x'}, boundary='B')
    let body = b"\r\n--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n--B\r\n\
Content-Disposition: form-data; name=\"b\"\r\n\r\nx\r\n--B--\r\n";
    let expected = vec![part("a", None, b""), part("b", None, b"x")];
    assert_eq!(decode(body, 1 << 16, None).unwrap(), expected);
    // In reads small enough to split that shared line break, Werkzeug itself
    // misses the boundary; the port does the same.
    let swallowed = b"--B\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\nx";
    let mut cr = swallowed.to_vec();
    cr.push(b'\r');
    assert_eq!(
        decode(body, 4, None).unwrap(),
        vec![part("a", None, swallowed)]
    );
    assert_eq!(decode(body, 1, None).unwrap(), vec![part("a", None, &cr)]);
}

#[test]
fn malformed_bodies() {
    let invalid = |body: &[u8]| match decode(body, 1 << 16, None) {
        Err(DecodeError::Invalid(_)) => {}
        other => panic!("{:?}: {other:?}", String::from_utf8_lossy(body)),
    };
    invalid(b"");
    invalid(b"no boundary here");
    invalid(b"--B\r\nContent-Disposition: form-data; name=a\r\n\r\nunterminated");
    invalid(b"--B\r\nContent-Disposition: form-data; name=a\r\n");
    invalid(b"--B\r\nX: y\r\n\r\nx\r\n--B--");
    invalid(b"--B\r\nContent-Disposition: form-data; name=\"\xff\"\r\n\r\nx\r\n--B--");
    // `--Bx` is not the boundary B.
    invalid(b"--Bx\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--Bx--");
}

#[test]
fn buffered_bytes_are_bounded() {
    // Headers that never end, and a preamble without a boundary, are
    // refused once more than max_form_memory_size is buffered.
    let mut endless = b"--B\r\nContent-Disposition: form-data; name=a\r\n".to_vec();
    endless.extend(std::iter::repeat_n(b'h', 5000));
    assert_eq!(decode(&endless, 64, Some(1000)), Err(DecodeError::TooLarge));
    assert_eq!(
        decode(&[b'x'; 5000], 64, Some(1000)),
        Err(DecodeError::TooLarge)
    );
    // Streamed data is not buffered: a large file passes small reads.
    let mut body = b"--B\r\nContent-Disposition: form-data; name=f; filename=f\r\n\r\n".to_vec();
    body.extend(std::iter::repeat_n(b'd', 50_000));
    body.extend(b"\r\n--B--\r\n");
    assert_eq!(decode(&body, 500, Some(1000)).unwrap()[0].2.len(), 50_000);
    // But a single read larger than the limit is refused, as in Werkzeug.
    assert_eq!(decode(&body, 1001, Some(1000)), Err(DecodeError::TooLarge));
}

#[test]
fn part_count_limit_counts_every_part() {
    let mut d = MultipartDecoder::new(b"B", None, Some(1));
    let body = b"--B\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n\
--B\r\nContent-Disposition: form-data; name=b; filename=f\r\n\r\n2\r\n--B--\r\n";
    d.receive_data(Some(body)).unwrap();
    let mut result = Ok(Event::NeedData);
    for _ in 0..10 {
        result = d.next_event();
        if result.is_err() {
            break;
        }
    }
    assert_eq!(result, Err(DecodeError::TooLarge));
}

#[test]
fn headers_are_parsed_like_werkzeug() {
    let h = parse_headers(
        b" Content-Disposition : form-data;\r\n\tname=a\r\nX-Empty:\r\nNoColon\r\n\x0b\r\n",
    )
    .unwrap();
    let pairs: Vec<_> = h.iter().collect();
    assert_eq!(
        pairs,
        [
            ("Content-Disposition", "form-data; name=a"),
            ("X-Empty", ""),
            ("NoColon", "")
        ]
    );
}

#[test]
fn boundary_search_rules() {
    let m = |buf: &[u8], need| {
        find_boundary(buf, 0, b"--B", need).map(|m| (m.start, m.end, m.is_final))
    };
    assert_eq!(m(b"--B\r\n", false), Some((0, 5, false)));
    assert_eq!(m(b"--B\r\n", true), None);
    assert_eq!(m(b"x\r\n--B \t\nrest", true), Some((1, 9, false)));
    assert_eq!(m(b"x\r--B--", true), Some((1, 7, true)));
    assert_eq!(m(b"x\n--B-- \r\n", true), Some((1, 10, true)));
    // Needs its line break to be complete: more data may follow.
    assert_eq!(m(b"\r\n--B  ", true), None);
    assert_eq!(last_partial_boundary_index(b"abc\r\n--", 3), 3);
    assert_eq!(last_partial_boundary_index(b"a\rbcdefgh", 3), 9);
    assert_eq!(find_blank_line(b"a: b\r\n\r\nx", 0), Some((4, 8)));
    assert_eq!(find_blank_line(b"a: b\n\nx", 0), Some((4, 6)));
    assert_eq!(find_blank_line(b"a: b\r\nc", 0), None);
}
