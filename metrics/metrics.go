// Package metrics exposes the connector's Prometheus metrics.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sentinelone-connector/s1conn/model"
	"github.com/sentinelone-connector/s1conn/store"
)

// Metrics holds the connector's collectors in their own registry.
type Metrics struct {
	reg       *prometheus.Registry
	records   *prometheus.CounterVec
	fetched   *prometheus.CounterVec
	pages     *prometheus.CounterVec
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	watermark *prometheus.GaugeVec
	retries   *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	runs      *prometheus.CounterVec
	tokenDays *prometheus.GaugeVec
}

// New creates the collectors.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.records = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "s1conn_records_stored_total",
		Help: "Records written to the store, by connection, stream and outcome (inserted, updated, unchanged, removed)."},
		[]string{"connection", "stream", "outcome"})
	m.fetched = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "s1conn_records_fetched_total",
		Help: "Records received from the console."}, []string{"connection", "stream"})
	m.pages = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "s1conn_pages_committed_total",
		Help: "Pages committed with their checkpoint."}, []string{"connection", "stream"})
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "s1conn_api_requests_total",
		Help: "SentinelOne API requests by path and HTTP status (0 = transport error)."}, []string{"connection", "path", "status"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "s1conn_api_request_seconds",
		Help: "SentinelOne API request latency.", Buckets: prometheus.DefBuckets}, []string{"path"})
	m.watermark = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "s1conn_watermark_timestamp_seconds",
		Help: "Committed delta watermark (unix seconds); sync lag = time() - this."}, []string{"connection", "stream"})
	m.retries = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "s1conn_page_retries_total",
		Help: "Pages retried inside a walk after a transient console failure (5xx, 429, dropped, truncated)."}, []string{"connection", "stream"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "s1conn_sync_duration_seconds",
		Help: "Duration of each stream's part of a sync.", Buckets: prometheus.ExponentialBuckets(0.5, 2, 14)}, []string{"connection", "stream"})
	m.runs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "s1conn_syncs_total",
		Help: "Finished syncs by status (success, partial, failed, auth_failed)."}, []string{"connection", "status"})
	m.tokenDays = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "s1conn_token_days_to_expiry",
		Help: "Days until the connection's API token expires (from the last connection check)."}, []string{"connection"})
	m.reg.MustRegister(m.records, m.fetched, m.pages, m.requests, m.latency, m.watermark, m.retries, m.duration, m.runs, m.tokenDays,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveRequest records one API request.
func (m *Metrics) ObserveRequest(connectionID, _ string, path string, status int, d time.Duration) {
	m.requests.WithLabelValues(connectionID, path, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(path).Observe(d.Seconds())
}

// ObservePage records one committed page.
func (m *Metrics) ObservePage(connectionID, stream string, c store.PageCounts, fetched int) {
	m.pages.WithLabelValues(connectionID, stream).Inc()
	m.fetched.WithLabelValues(connectionID, stream).Add(float64(fetched))
	m.records.WithLabelValues(connectionID, stream, "inserted").Add(float64(c.Inserted))
	m.records.WithLabelValues(connectionID, stream, "updated").Add(float64(c.Updated))
	m.records.WithLabelValues(connectionID, stream, "unchanged").Add(float64(c.Unchanged))
	m.records.WithLabelValues(connectionID, stream, "removed").Add(float64(c.Removed))
	if !c.Watermark.IsZero() {
		m.watermark.WithLabelValues(connectionID, stream).Set(float64(c.Watermark.Unix()))
	}
}

// ObserveRetry counts a page retried after a transient failure.
func (m *Metrics) ObserveRetry(connectionID, stream string) {
	m.retries.WithLabelValues(connectionID, stream).Inc()
}

// ObserveRun records a finished sync.
func (m *Metrics) ObserveRun(connectionID string, sum model.RunSummary) {
	m.runs.WithLabelValues(connectionID, sum.Status).Inc()
	for _, s := range sum.Streams {
		m.duration.WithLabelValues(connectionID, s.Stream).Observe(s.Duration.Seconds())
	}
}

// ObserveTokenExpiry records when the connection's token expires.
func (m *Metrics) ObserveTokenExpiry(connectionID string, expires time.Time) {
	if !expires.IsZero() {
		m.tokenDays.WithLabelValues(connectionID).Set(time.Until(expires).Hours() / 24)
	}
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	return mux
}
