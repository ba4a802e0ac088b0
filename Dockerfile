# Multi-stage build: compile with the full toolchain, ship a small Debian image with libpq only.
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin liquidator

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/liquidator --create-home liquidator
COPY --from=build /src/target/release/liquidator /usr/local/bin/liquidator
USER liquidator
WORKDIR /var/lib/liquidator
EXPOSE 8080
ENTRYPOINT ["liquidator"]
CMD ["serve"]
