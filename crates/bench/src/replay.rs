//! The steady-state pass sent again to the endpoint alone, over plain HTTP/1.1 keep-alive
//! connections: how long the endpoint itself needs for the operator's requests.

use std::time::{Duration, Instant};

use dataplatform_aws::recorder::RecordedRequest;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Sends the recorded requests again over plain HTTP/1.1 keep-alive connections, `connections` at
/// once, and returns the wall time and how many requests were sent again because the endpoint
/// dropped their connection (moto under load resets some): a reset is not the bench's failure.
pub async fn replay(requests: &[RecordedRequest], connections: usize) -> Result<(Duration, usize), String> {
    /// Attempts per request before a dropped connection ends the replay.
    const ATTEMPTS: usize = 4;
    let mut lanes: Vec<Vec<&RecordedRequest>> = vec![Vec::new(); connections];
    for (i, request) in requests.iter().enumerate() {
        lanes[i % connections].push(request);
    }
    let started = Instant::now();
    let results = futures::future::join_all(lanes.into_iter().map(|lane| async move {
        let mut connection: Option<(String, BufReader<TcpStream>)> = None;
        let mut resent = 0;
        for request in lane {
            let (authority, path) = split_uri(&request.uri)?;
            for attempt in 1..=ATTEMPTS {
                if connection.as_ref().is_none_or(|(a, _)| *a != authority) {
                    let stream = TcpStream::connect(&authority)
                        .await
                        .map_err(|e| format!("connect {authority}: {e}"))?;
                    connection = Some((authority.clone(), BufReader::new(stream)));
                }
                let (_, stream) = connection.as_mut().ok_or("no connection")?;
                match send(stream, &authority, path, request).await {
                    Ok(Some(keep_alive)) => {
                        if !keep_alive {
                            connection = None;
                        }
                        break;
                    }
                    // Dropped before or while answering: a new connection, the same request (the
                    // steady state it replays reads only, so sending again is safe).
                    Ok(None) | Err(_) if attempt < ATTEMPTS => {
                        connection = None;
                        resent += 1;
                    }
                    Ok(None) => return Err(format!("replay: {authority} closed the connection {ATTEMPTS} times")),
                    Err(error) => return Err(format!("replay: {error} ({ATTEMPTS} attempts)")),
                }
            }
        }
        Ok::<usize, String>(resent)
    }))
    .await;
    let resent = results.into_iter().collect::<Result<Vec<_>, _>>()?.into_iter().sum();
    Ok((started.elapsed(), resent))
}

fn split_uri(uri: &str) -> Result<(String, &str), String> {
    let rest = uri
        .strip_prefix("http://")
        .ok_or_else(|| format!("replay speaks plain HTTP only, got {uri}"))?;
    let slash = rest.find('/').unwrap_or(rest.len());
    let path = if slash == rest.len() { "/" } else { &rest[slash..] };
    Ok((rest[..slash].to_owned(), path))
}

/// One request and its whole response: `Some(keep_alive)`, or `None` when the server closed the
/// connection before answering (a kept-alive connection it had dropped).
async fn send(
    stream: &mut BufReader<TcpStream>,
    authority: &str,
    path: &str,
    request: &RecordedRequest,
) -> Result<Option<bool>, std::io::Error> {
    let mut head = format!("{} {path} HTTP/1.1\r\nhost: {authority}\r\n", request.method);
    for (name, value) in &request.headers {
        if !name.eq_ignore_ascii_case("host") && !name.eq_ignore_ascii_case("content-length") {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", request.body.len()));
    stream.get_mut().write_all(head.as_bytes()).await?;
    stream.get_mut().write_all(&request.body).await?;

    let (mut length, mut keep_alive, mut answered) = (None, true, false);
    loop {
        let mut line = String::new();
        if stream.read_line(&mut line).await? == 0 {
            return Ok(answered.then_some(false));
        }
        answered = true;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("content-length:") {
            length = value.trim().parse::<usize>().ok();
        }
        if lower.starts_with("connection:") && lower.contains("close") {
            keep_alive = false;
        }
    }
    match length {
        Some(length) => {
            let mut body = vec![0; length];
            stream.read_exact(&mut body).await?;
            Ok(Some(keep_alive))
        }
        None => {
            let mut rest = Vec::new();
            stream.read_to_end(&mut rest).await?;
            Ok(Some(false))
        }
    }
}
