// Command acsq-localdb runs a MongoDB wire-protocol server for development,
// tests and CI: FerretDB v1 embedded, with its SQLite backend.
//
// Usage:
//
//	acsq-localdb -listen 127.0.0.1:27017 -dir var/db/data
//
// It prints the server's URI on stdout once it accepts connections, and shuts
// down cleanly on SIGTERM or SIGINT.
//
// FerretDB v1.24's SQLite backend looks documents up by
// `_ferretdb_sjson->'$._id'`, but indexes `_ferretdb_sjson->"_id"`. SQLite
// matches index expressions by their text, so every find, update and upsert
// by _id scans the whole table (1.6 s per lookup in a 550 MB collection).
// The index doctor below adds an index on the expression FerretDB actually
// queries, for every collection, as collections appear.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	_ "modernc.org/sqlite"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	dir := flag.String("dir", "var/db/data", "directory for the SQLite database files")
	logLevel := flag.String("log-level", "error", "log level: debug, info, warn or error")
	gcPercent := flag.Int("gc-percent", 400, "Go GC target percentage (decoding is allocation-heavy)")
	flag.Parse()

	debug.SetGCPercent(*gcPercent)

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "acsq-localdb: bad -log-level %q: %v\n", *logLevel, err)
		os.Exit(2)
	}
	logger := slog.New(&lazyHandler{inner: slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})})

	absDir, err := filepath.Abs(*dir)
	if err == nil {
		err = os.MkdirAll(absDir, 0o755)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "acsq-localdb: cannot use data directory %q: %v\n", *dir, err)
		os.Exit(1)
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: *listen},
		Handler:  "sqlite",
		// WAL with synchronous=NORMAL: a commit survives a crash of this
		// process, and skips the fsync that FULL makes on every commit.
		SQLiteURL: "file:" + absDir + "/?_pragma=synchronous(normal)",
		Logger:    logger,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "acsq-localdb: cannot start: %v\n", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	go indexDoctor(ctx, absDir, logger)

	// The listener is bound by ferretdb.New, so the server accepts
	// connections from here on.
	fmt.Println(f.MongoDBURI())

	if err := f.Run(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "acsq-localdb: %v\n", err)
		os.Exit(1)
	}
	logger.Info("acsq-localdb stopped")
}

// indexDoctor adds, every half second, the missing _id expression index to
// every FerretDB table in every database file of dir.
func indexDoctor(ctx context.Context, dir string, logger *slog.Logger) {
	ticker := time.NewTicker(500 * time.Millisecond)
	defer ticker.Stop()

	for {
		files, _ := filepath.Glob(filepath.Join(dir, "*.sqlite"))
		for _, file := range files {
			if err := fixFile(ctx, file); err != nil && ctx.Err() == nil {
				logger.Debug("index doctor", "file", file, "error", err)
			}
		}

		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// fixFile creates the missing indexes of one database file. It opens the
// file read-write without creating it, so that it never makes a database
// appear, and closes it again, so that a dropped database is not kept open.
func fixFile(ctx context.Context, file string) error {
	db, err := sql.Open("sqlite", "file:"+file+"?mode=rw&_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()

	// A dropped and recreated collection keeps its table name, so ask
	// sqlite_master every time rather than remembering what was done.
	rows, err := db.QueryContext(ctx, `SELECT c.table_name FROM _ferretdb_collections c
		WHERE NOT EXISTS (SELECT 1 FROM sqlite_master m
		                  WHERE m.type = 'index' AND m.name = c.table_name || '__acsq_id')`)
	if err != nil {
		return err
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, t)
	}
	rows.Close()

	for _, t := range tables {
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (_ferretdb_sjson->'$._id')`,
			t+"__acsq_id", strings.ReplaceAll(t, `"`, ``))
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// lazyHandler defers WithAttrs and WithGroup until a record is actually
// handled. FerretDB derives a logger with attributes for every command, and
// slog's TextHandler formats those attributes eagerly, even when the level
// means nothing will be printed: 14 % of the server's CPU during ingest.
type lazyHandler struct {
	inner slog.Handler
	ops   []func(slog.Handler) slog.Handler
}

func (h *lazyHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

func (h *lazyHandler) Handle(ctx context.Context, r slog.Record) error {
	inner := h.inner
	for _, op := range h.ops {
		inner = op(inner)
	}
	return inner.Handle(ctx, r)
}

func (h *lazyHandler) with(op func(slog.Handler) slog.Handler) slog.Handler {
	ops := make([]func(slog.Handler) slog.Handler, len(h.ops), len(h.ops)+1)
	copy(ops, h.ops)
	return &lazyHandler{inner: h.inner, ops: append(ops, op)}
}

func (h *lazyHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return h.with(func(inner slog.Handler) slog.Handler { return inner.WithAttrs(attrs) })
}

func (h *lazyHandler) WithGroup(name string) slog.Handler {
	return h.with(func(inner slog.Handler) slog.Handler { return inner.WithGroup(name) })
}
