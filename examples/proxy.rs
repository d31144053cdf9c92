//! The second baseline of serve's benchmark (scripts/bench.sh, BENCHMARKS.md): the thinnest possible
//! uncached `serve` — a hyper 1 server that answers every request with one GET to the upstream and
//! returns that body, doing no other work. The gap between it and the upstream served directly is
//! what any proxy pays on this machine (two more loopback hops and a client per request); the gap
//! between it and `nodectl serve` uncached is what nodectl adds. Two modes:
//! - `pooled`: the client nodectl's live transport uses (`nodectl::http::client::http_client`, reqwest's pool);
//! - `dedicated`: one raw hyper client connection per downstream connection, no pool, no URL
//!   parsing, no timeouts — the cheapest a proxy can be.
//!
//!   cargo run --release --example proxy -- pooled 127.0.0.1:0 http://127.0.0.1:PORT/v1/customers/c-42

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

// The same allocator as the nodectl binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Answer = Result<Response<Full<Bytes>>, Infallible>;

fn fail() -> Answer {
    let mut response = Response::new(Full::new(Bytes::from_static(b"upstream failed")));
    *response.status_mut() = hyper::StatusCode::BAD_GATEWAY;
    Ok(response)
}

async fn pooled(request: Request<Incoming>, client: reqwest::Client, upstream: Arc<str>) -> Answer {
    let _ = request.into_body().collect().await;
    match client.get(&*upstream).send().await {
        Ok(response) => match response.bytes().await {
            Ok(body) => Ok(Response::new(Full::new(body))),
            Err(_) => fail(),
        },
        Err(_) => fail(),
    }
}

type Sender = Arc<tokio::sync::Mutex<hyper::client::conn::http1::SendRequest<Empty<Bytes>>>>;

/// Sends `GET path` with `Host: authority` over the connection's own upstream connection.
async fn dedicated(
    request: Request<Incoming>,
    sender: Sender,
    target: Arc<(String, String)>,
) -> Answer {
    let _ = request.into_body().collect().await;
    let (authority, path) = &*target;
    let outgoing = Request::get(path.as_str())
        .header(hyper::header::HOST, authority.as_str())
        .body(Empty::new());
    let Ok(outgoing) = outgoing else {
        return fail();
    };
    let Ok(response) = sender.lock().await.send_request(outgoing).await else {
        return fail();
    };
    match response.into_body().collect().await {
        Ok(body) => Ok(Response::new(Full::new(body.to_bytes()))),
        Err(_) => fail(),
    }
}

async fn serve_dedicated(stream: TcpStream, upstream: Arc<str>) -> Option<()> {
    let uri: hyper::Uri = upstream.parse().ok()?;
    let authority = uri.authority()?.as_str().to_string();
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    let connection = TcpStream::connect(&authority).await.ok()?;
    let _ = connection.set_nodelay(true);
    let (sender, driver) = hyper::client::conn::http1::handshake(TokioIo::new(connection))
        .await
        .ok()?;
    tokio::spawn(driver);
    let sender: Sender = Arc::new(tokio::sync::Mutex::new(sender));
    let target = Arc::new((authority, path));
    let service = service_fn(move |request| dedicated(request, sender.clone(), target.clone()));
    http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await
        .ok()
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:0".to_string());
    let upstream: Arc<str> = args.next().unwrap_or_default().into();
    if mode != "pooled" && mode != "dedicated" {
        return Err(std::io::Error::other(
            "usage: proxy pooled|dedicated ADDR UPSTREAM_URL",
        ));
    }
    let client = nodectl::http::client::http_client().map_err(std::io::Error::other)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = TcpListener::bind(&addr).await?;
        println!("listening on http://{}", listener.local_addr()?);
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            let (client, upstream) = (client.clone(), upstream.clone());
            if mode == "dedicated" {
                tokio::spawn(serve_dedicated(stream, upstream));
            } else {
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        pooled(request, client.clone(), upstream.clone())
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    })
}
