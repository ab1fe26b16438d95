//! A minimal HTTP/1.1 client over `std::net`, for the sandbox's control routes and the
//! gateway's wallet history (plain HTTP on the loopback, one request per connection).

use crate::steps::Result;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// An answer: status code and body.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: String,
}

impl Answer {
    /// The body as JSON, if the status is 2xx.
    pub(crate) fn json(self, what: &str) -> Result<serde_json::Value> {
        if !(200..300).contains(&self.status) {
            return Err(
                format!("{what}: HTTP {} {}", self.status, self.body.chars().take(300).collect::<String>()).into()
            );
        }
        serde_json::from_str(&self.body).map_err(|e| format!("{what}: not JSON ({e}): {}", self.body).into())
    }
}

/// `base` is `http://host:port`.
pub(crate) fn request(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Result<Answer> {
    let host = base.strip_prefix("http://").ok_or_else(|| format!("not an http:// address: {base}"))?;
    let host = host.trim_end_matches('/');
    let mut stream = TcpStream::connect(host).map_err(|e| format!("{method} {base}{path}: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    stream.set_write_timeout(Some(Duration::from_secs(60)))?;
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nAccept: application/json\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let body = body.unwrap_or("");
    if method != "GET" {
        head.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| format!("{method} {base}{path}: {e}"))?;
    parse_answer(&raw).map_err(|e| format!("{method} {base}{path}: {e}").into())
}

pub(crate) fn get(base: &str, path: &str, headers: &[(&str, &str)]) -> Result<Answer> {
    request(base, "GET", path, headers, None)
}

pub(crate) fn post(base: &str, path: &str, body: &str) -> Result<Answer> {
    request(base, "POST", path, &[], Some(body))
}

fn parse_answer(raw: &[u8]) -> std::result::Result<Answer, String> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or("no end of headers in the answer")?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let rest = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let chunked = lines.any(|l| {
        l.split_once(':').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("transfer-encoding") && v.trim().eq_ignore_ascii_case("chunked")
        })
    });
    let body = if chunked { dechunk(rest)? } else { rest.to_vec() };
    Ok(Answer { status, body: String::from_utf8(body).map_err(|_| "the body is not UTF-8")? })
}

/// A chunked body, joined (the connection was read to its end).
fn dechunk(mut rest: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n").ok_or("a chunk without its size line")?;
        let size_text = String::from_utf8_lossy(&rest[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| format!("bad chunk size {size_text:?}"))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = rest.get(..size).ok_or("a chunk cut short")?;
        out.extend_from_slice(chunk);
        rest = rest.get(size + 2..).ok_or("a chunk without its line end")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_chunked_answers_are_read() {
        let plain = parse_answer(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}").expect("plain");
        assert_eq!((plain.status, plain.body.as_str()), (200, "{}"));
        let chunked = parse_answer(
            b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4;x=y\r\n\":1}\r\n0\r\n\r\n",
        )
        .expect("chunked");
        assert_eq!((chunked.status, chunked.body.as_str()), (404, "{\"a\":1}"));
        assert!(parse_answer(b"HTTP/1.1 200 OK\r\n").is_err());
    }
}
