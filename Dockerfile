# Multi-stage build of authserver: a static-ish release binary on a small Debian base,
# running as an unprivileged user. The database lives in the /data volume.
#   docker build -t authserver .
#   docker run -p 8555:8555 -v authserver-data:/data \
#     -e AUTHSERVER_AUTHENTICATION_CLIENT_SECRET=... \
#     -v $PWD/authserver.properties:/etc/authserver/authserver.properties:ro authserver
# The container listens on 0.0.0.0, where the checked-in development secret is refused:
# without AUTHSERVER_AUTHENTICATION_CLIENT_SECRET (or a mounted file with its own secret)
# the server exits with code 2 and says so.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
COPY templates ./templates
COPY examples ./examples
RUN cargo build --release --locked --bin authserver

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin authserver \
 && mkdir -p /data /etc/authserver && chown authserver:authserver /data
COPY --from=build /src/target/release/authserver /usr/local/bin/authserver
COPY authserver.properties /etc/authserver/authserver.properties
USER authserver
WORKDIR /data
ENV AUTHSERVER_CONFIG=/etc/authserver/authserver.properties \
    AUTHSERVER_DATABASE_URL=sqlite:///data/authserver.db \
    AUTHSERVER_SERVER_ADDRESS=0.0.0.0
EXPOSE 8555
ENTRYPOINT ["/usr/local/bin/authserver"]
CMD ["serve"]
