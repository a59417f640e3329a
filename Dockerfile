# hdw container images (README "Kubernetes").
#   docker build --target static -t hdw:VERSION .      static binary, distroless, non-root (default)
#   docker build --target ocr    -t hdw:VERSION-ocr .  with the Tesseract runtime (OCR of burned-in text) and the
#                                                      image codecs (dcmcodec: JPEG lossless/12-bit, JPEG 2000,
#                                                      JPEG-LS; heif: HEIC/AVIF; jxl: JPEG XL)
# Or `make docker [IMAGE_TARGET=ocr]`. Nothing is downloaded at run time.
ARG GO_VERSION=1.26.8

# ---- build: the static binary (no cgo, no OCR)
FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/hdw ./cmd/hdw

# ---- build-ocr: cgo against libtesseract (gosseract), dcmtk's IJG, OpenJPEG, CharLS, libheif, libjxl
FROM golang:${GO_VERSION}-bookworm AS build-ocr
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libtesseract-dev libleptonica-dev \
      libdcmtk-dev libopenjp2-7-dev libcharls-dev libheif-dev libjxl-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=1 go build -trimpath -tags ocr,dcmcodec,heif,jxl -ldflags "-s -w -X main.version=${VERSION}" -o /out/hdw ./cmd/hdw

# ---- ocr: Debian slim with the Tesseract runtime, its English and French data, and the codec libraries
FROM debian:bookworm-slim AS ocr
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libtesseract5 tesseract-ocr-eng tesseract-ocr-fra ca-certificates \
      libdcmtk17 libopenjp2-7 libcharls2 libheif1 libjxl0.7 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 65532 --user-group --no-create-home --shell /usr/sbin/nologin hdw
COPY --from=build-ocr /out/hdw /usr/local/bin/hdw
USER 65532:65532
# Files hdw writes are 0600 (folders 0700) whatever the umask; this one is for the rest.
ENV HOME=/tmp
ENTRYPOINT ["/usr/local/bin/hdw"]

# ---- static (last: the default target): the binary alone, CA certificates, non-root
FROM gcr.io/distroless/static-debian12:nonroot AS static
COPY --from=build /out/hdw /hdw
USER 65532:65532
ENV HOME=/tmp
ENTRYPOINT ["/hdw"]
