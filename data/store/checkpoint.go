package store

import (
	"github.com/trailscope/trailscope/data/internal/sqlitec"
)

// checkpointer copies committed WAL frames into the case file on a connection of its own while
// the loader writes its next transaction. Done by the committing connection, as SQLite does by
// default, the copy and its fsyncs stalled the writer, and with it every decoder, for a third
// of a load's time.
//
// A WAL only starts over from its beginning when a transaction begins with every frame copied,
// so every restartEvery commits the loader waits for the copy to catch up (see Loader.Commit):
// that bounds the WAL to a few transactions.
type checkpointer struct {
	c    *sqlitec.Conn
	reqs chan struct{}
	done chan error
	busy bool // a pass was asked for and its result not yet taken
}

// restartEvery is how many load commits may go by before the loader waits for the checkpointer.
const restartEvery = 4

func newCheckpointer(path string) (*checkpointer, error) {
	c, err := sqlitec.Open(path)
	if err != nil {
		return nil, err
	}
	if err := c.Exec(`PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL`); err != nil {
		c.Close()
		return nil, err
	}
	k := &checkpointer{c: c, reqs: make(chan struct{}), done: make(chan error, 1)}
	go func() {
		for range k.reqs {
			// PASSIVE: copy what no reader still needs, without blocking the writer.
			k.done <- c.Exec(`PRAGMA wal_checkpoint(PASSIVE)`)
		}
	}()
	return k, nil
}

// start asks for a pass unless one is running.
func (k *checkpointer) start() {
	if !k.busy {
		k.busy = true
		k.reqs <- struct{}{}
	}
}

// wait returns when no pass is running, with the error of the last one.
func (k *checkpointer) wait() error {
	if !k.busy {
		return nil
	}
	k.busy = false
	return <-k.done
}

// catchUp waits for a pass over everything committed so far.
func (k *checkpointer) catchUp() error {
	if err := k.wait(); err != nil {
		return err
	}
	k.start()
	return k.wait()
}

func (k *checkpointer) close() error {
	err := k.wait()
	close(k.reqs)
	if cerr := k.c.Close(); err == nil {
		err = cerr
	}
	return err
}
