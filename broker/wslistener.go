package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// wsListener is MQTT over WebSocket. Mochi's own listener binds only when
// it starts serving, which hides bind errors and the port chosen for ":0";
// this one binds in Init.
type wsListener struct {
	id, addr string
	ln       net.Listener
	srv      *http.Server
	log      *slog.Logger
	upgrader websocket.Upgrader
	once     sync.Once

	establish listeners.EstablishFn // set by Serve before the server accepts
	tls       *tls.Config           // wss when set
}

var _ listeners.Listener = (*wsListener)(nil)

func newWSListener(id, addr string) *wsListener {
	return &wsListener{id: id, addr: addr, upgrader: websocket.Upgrader{
		Subprotocols:    []string{"mqtt"},
		CheckOrigin:     func(*http.Request) bool { return true },
		ReadBufferSize:  4096,
		WriteBufferSize: 4096,
	}}
}

func (l *wsListener) ID() string { return l.id }
func (l *wsListener) Protocol() string {
	if l.tls != nil {
		return "wss"
	}
	return "ws"
}

func (l *wsListener) Address() string {
	if l.ln != nil {
		return l.ln.Addr().String()
	}
	return l.addr
}

func (l *wsListener) Init(log *slog.Logger) error {
	l.log = log
	ln, err := net.Listen("tcp", l.addr)
	if err != nil {
		return err
	}
	if l.tls != nil {
		ln = tls.NewListener(ln, l.tls)
	}
	l.ln = ln
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		c, err := l.upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		if err := l.establish(l.id, &wsConn{Conn: c.UnderlyingConn(), c: c}); err != nil {
			l.log.Debug("websocket client ended", "error", err)
		}
	})
	l.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return nil
}

func (l *wsListener) Serve(establish listeners.EstablishFn) {
	l.establish = establish
	if err := l.srv.Serve(l.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		l.log.Error("websocket listener failed", "error", err)
	}
}

func (l *wsListener) Close(closeClients listeners.CloseFn) {
	l.once.Do(func() {
		if l.srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = l.srv.Shutdown(ctx) // closes the listener too
		}
	})
	closeClients(l.id)
}

// wsConn adapts a WebSocket connection to net.Conn: MQTT packets travel in
// binary messages.
type wsConn struct {
	net.Conn
	c *websocket.Conn
	r io.Reader
}

func (ws *wsConn) Read(p []byte) (int, error) {
	for {
		if ws.r == nil {
			op, r, err := ws.c.NextReader()
			if err != nil {
				return 0, err
			}
			if op != websocket.BinaryMessage {
				return 0, errors.New("websocket: MQTT needs binary messages")
			}
			ws.r = r
		}
		n, err := ws.r.Read(p)
		if errors.Is(err, io.EOF) {
			ws.r = nil
			if n == 0 {
				continue
			}
			err = nil
		}
		return n, err
	}
}

func (ws *wsConn) Write(p []byte) (int, error) {
	if err := ws.c.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (ws *wsConn) Close() error { return ws.c.Close() }
