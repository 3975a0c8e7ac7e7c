//! A minimal DNS client for domain verification: one TXT question over UDP to the configured
//! resolver (`--dns-resolver`), bounded in size, time and attempts. A full resolver library
//! (hickory) would bring a large dependency tree for one question; this one asks the recursive
//! resolver the operator names and reads the TXT answers, nothing else (no TCP fallback, no
//! DNSSEC, no caching: a verification is a rare, explicit administrator action).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;

/// How long one attempt waits for the answer.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// Attempts before giving up (UDP may lose a datagram).
const ATTEMPTS: usize = 2;
/// The largest answer read (EDNS is not offered, so resolvers answer within 512 bytes, but a
/// few send more; anything beyond is cut and the answer read as far as it is whole).
const MAX_ANSWER: usize = 4096;
const TYPE_TXT: u16 = 16;
const CLASS_IN: u16 = 1;

/// Why a lookup gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error("the domain name cannot be put in a DNS question")]
    BadName,
    #[error("the DNS resolver did not answer in time")]
    Timeout,
    #[error("the DNS resolver answered with error code {0}")]
    Rcode(u8),
    #[error("the DNS answer is malformed")]
    Malformed,
    #[error("DNS socket failure: {0}")]
    Io(#[from] std::io::Error),
}

/// The TXT records of `name` as `resolver` answers them (each record's character strings
/// joined, as SPF and verification records are read). A name that does not exist has none.
pub async fn txt_records(resolver: SocketAddr, name: &str) -> Result<Vec<String>, DnsError> {
    let id = (uuid::Uuid::new_v4().as_u128() & 0xffff) as u16;
    let query = build_query(id, name)?;
    let bind: SocketAddr = if resolver.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { ([0u16; 8], 0).into() };
    let socket = UdpSocket::bind(bind).await?;
    socket.connect(resolver).await?;
    let mut buf = vec![0u8; MAX_ANSWER];
    for _ in 0..ATTEMPTS {
        socket.send(&query).await?;
        // Datagrams that are not the answer to this question (a late answer to the previous
        // attempt has the same id and is as good) are skipped until the attempt's time is up.
        let deadline = tokio::time::Instant::now() + ATTEMPT_TIMEOUT;
        loop {
            match tokio::time::timeout_at(deadline, socket.recv(&mut buf)).await {
                Err(_) => break,
                Ok(Err(e)) => return Err(e.into()),
                Ok(Ok(n)) => {
                    if let Some(answer) = parse_answer(id, &buf[..n])? {
                        return Ok(answer);
                    }
                }
            }
        }
    }
    Err(DnsError::Timeout)
}

/// A standard query with recursion desired: header, then the one question `name TXT IN`.
fn build_query(id: u16, name: &str) -> Result<Vec<u8>, DnsError> {
    let name = name.trim_end_matches('.');
    if name.is_empty() || name.len() > 253 {
        return Err(DnsError::BadName);
    }
    let mut q = Vec::with_capacity(18 + name.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(DnsError::BadName);
        }
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&TYPE_TXT.to_be_bytes());
    q.extend_from_slice(&CLASS_IN.to_be_bytes());
    Ok(q)
}

/// Reads a response: `None` if it is not the answer to query `id` (a stray datagram),
/// the TXT strings of its answer section otherwise.
fn parse_answer(id: u16, msg: &[u8]) -> Result<Option<Vec<String>>, DnsError> {
    if msg.len() < 12 || u16::from_be_bytes([msg[0], msg[1]]) != id || msg[2] & 0x80 == 0 {
        return Ok(None);
    }
    match msg[3] & 0x0f {
        0 => {}
        // NXDOMAIN: the name has no records at all.
        3 => return Ok(Some(Vec::new())),
        code => return Err(DnsError::Rcode(code)),
    }
    let questions = u16::from_be_bytes([msg[4], msg[5]]);
    let answers = u16::from_be_bytes([msg[6], msg[7]]);
    let mut at = 12;
    for _ in 0..questions {
        at = skip_name(msg, at)? + 4;
    }
    let mut out = Vec::new();
    for _ in 0..answers {
        at = skip_name(msg, at)?;
        let header = msg.get(at..at + 10).ok_or(DnsError::Malformed)?;
        let rtype = u16::from_be_bytes([header[0], header[1]]);
        let class = u16::from_be_bytes([header[2], header[3]]);
        let len = usize::from(u16::from_be_bytes([header[8], header[9]]));
        at += 10;
        let rdata = msg.get(at..at + len).ok_or(DnsError::Malformed)?;
        at += len;
        if rtype != TYPE_TXT || class != CLASS_IN {
            continue;
        }
        let mut text = Vec::new();
        let mut i = 0;
        while i < rdata.len() {
            let n = usize::from(rdata[i]);
            text.extend_from_slice(rdata.get(i + 1..i + 1 + n).ok_or(DnsError::Malformed)?);
            i += 1 + n;
        }
        out.push(String::from_utf8_lossy(&text).into_owned());
    }
    Ok(Some(out))
}

/// The offset just past the (possibly compressed) name at `at`.
fn skip_name(msg: &[u8], mut at: usize) -> Result<usize, DnsError> {
    // At most 128 labels fit a 255-byte name; a longer walk is a malformed message.
    for _ in 0..128 {
        let len = *msg.get(at).ok_or(DnsError::Malformed)?;
        match len {
            0 => return Ok(at + 1),
            l if l & 0xc0 == 0xc0 => {
                msg.get(at + 1).ok_or(DnsError::Malformed)?;
                return Ok(at + 2);
            }
            l if l & 0xc0 == 0 => at += 1 + usize::from(l),
            _ => return Err(DnsError::Malformed),
        }
    }
    Err(DnsError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(id: u16, rcode: u8, txt: &[&[&str]]) -> Vec<u8> {
        let mut m = build_query(id, "contoso.com").expect("query");
        m[2] = 0x81;
        m[3] = 0x80 | rcode;
        m[6..8].copy_from_slice(&(txt.len() as u16).to_be_bytes());
        for strings in txt {
            m.extend_from_slice(&[0xc0, 12]);
            m.extend_from_slice(&TYPE_TXT.to_be_bytes());
            m.extend_from_slice(&CLASS_IN.to_be_bytes());
            m.extend_from_slice(&3600u32.to_be_bytes());
            let rdata: Vec<u8> = strings.iter().flat_map(|s| std::iter::once(s.len() as u8).chain(s.bytes())).collect();
            m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            m.extend_from_slice(&rdata);
        }
        m
    }

    #[test]
    fn reads_txt_answers() {
        let m = answer(7, 0, &[&["MS=ms1234", "5678"], &["v=spf1 -all"]]);
        assert_eq!(parse_answer(7, &m).expect("ok"), Some(vec!["MS=ms12345678".into(), "v=spf1 -all".into()]));
        assert_eq!(parse_answer(8, &m).expect("ok"), None, "another query's answer is skipped");
        assert_eq!(parse_answer(7, &answer(7, 3, &[])).expect("ok"), Some(vec![]));
        assert!(matches!(parse_answer(7, &answer(7, 2, &[])), Err(DnsError::Rcode(2))));
    }

    #[test]
    fn refuses_malformed_input() {
        let m = answer(7, 0, &[&["MS=ms1"]]);
        for cut in 13..m.len() {
            assert!(parse_answer(7, &m[..cut]).is_err(), "cut at {cut}");
        }
        assert!(build_query(1, "a..b").is_err());
        assert!(build_query(1, &"a".repeat(64)).is_err());
    }
}
