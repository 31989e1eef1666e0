//! Running the fakes on loopback: each fake is a router served by [`serve`] on a listener the
//! caller binds, until the caller's shutdown future completes, so tests pick port 0 and stop
//! the world when they are done.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use ozontrack_domain::Clock;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::fakes::{self, SimState};
use crate::world::{SimStore, World};

/// Serves `router` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

/// How to run the sandbox's servers.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Address to bind each fake on; port 0 picks a free port per fake.
    pub listen: SocketAddr,
    pub ozon: fakes::ozon::OzonConfig,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            ozon: fakes::ozon::OzonConfig::default(),
        }
    }
}

/// The running fakes. Dropping it stops them.
#[derive(Debug)]
pub struct Sandbox {
    pub state: Arc<SimState>,
    /// Base URL of the Ozon Seller API fake, e.g. `http://127.0.0.1:40123`.
    pub ozon_url: String,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<std::io::Result<()>>>,
}

impl Sandbox {
    /// Binds and starts every fake over `world` at the time `clock` tells.
    pub async fn start(
        world: World,
        clock: Arc<dyn Clock>,
        config: &ServeConfig,
    ) -> std::io::Result<Sandbox> {
        let state = SimState::new(world, clock);
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Vec::new();
        let ozon = TcpListener::bind(config.listen).await?;
        let ozon_url = format!("http://{}", ozon.local_addr()?);
        let router = fakes::ozon::router(state.clone(), &config.ozon);
        tasks.push(tokio::spawn(serve(ozon, router, wait_for(stopped))));
        Ok(Sandbox {
            state,
            ozon_url,
            stop,
            tasks,
        })
    }

    /// The seller accounts of the world, with the credentials the fakes accept.
    pub fn stores(&self) -> &[SimStore] {
        &self.state.world.stores
    }

    /// Stops every fake and waits for them to finish their requests.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn wait_for(mut stopped: watch::Receiver<bool>) {
    // An error means the sender is gone, which also means stop.
    let _ = stopped.wait_for(|stop| *stop).await;
}
