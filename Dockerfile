# Multi-stage build: static binaries (CGO off), distroless non-root runtime.
# The same build command runs in CI (`make build`), so what CI builds is what the image holds.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/ ./worker ./starter ./simulator/cmd/s1sim ./codec/cmd/codec-server

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ /usr/local/bin/
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/worker"]
