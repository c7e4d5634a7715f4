//! A minimal HTTP/1.1 client for the load drivers: one kept-alive socket, requests written
//! by hand (a full client library costs the machine's second core as much as the server's
//! work does).

/// A minimal HTTP/1.1 client connection (keep-alive, Content-Length bodies only).
pub struct RawConn {
    stream: tokio::io::BufReader<tokio::net::TcpStream>,
}

impl RawConn {
    pub async fn connect(host: &str) -> RawConn {
        let stream = tokio::net::TcpStream::connect(host).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        RawConn {
            stream: tokio::io::BufReader::new(stream),
        }
    }

    pub async fn round_trip(&mut self, request: &[u8]) -> (u16, String) {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
        self.stream
            .get_mut()
            .write_all(request)
            .await
            .expect("write");
        let mut line = String::new();
        self.stream.read_line(&mut line).await.expect("status line");
        let status = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut length = 0usize;
        loop {
            line.clear();
            self.stream.read_line(&mut line).await.expect("header");
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0u8; length];
        self.stream.read_exact(&mut body).await.expect("body");
        (status, String::from_utf8_lossy(&body).into_owned())
    }
}
