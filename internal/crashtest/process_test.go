package crashtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// childTune varies a child's configuration from life to life.
type childTune struct {
	workers  int  // engine.WithWorkers
	maxBatch int  // bolt.WithMaxBatch: 1 turns group commit off
	lazy     bool // a broken receiver that writes a second after it acknowledged
	pg       *pgChild
}

// pgChild makes a child run its engine on a Postgres schema shared with
// other children, WithLeases, and write to a shared receiver log
// (TestKill9Postgres).
type pgChild struct {
	DSN    string        `json:"dsn"` // with an application_name naming the incarnation
	Schema string        `json:"schema"`
	Owner  string        `json:"owner"` // the engine's lease owner
	TTL    time.Duration `json:"ttl"`   // of its leases
	Poll   time.Duration `json:"poll"`  // engine.WithPollInterval
}

// childProc is the parent's handle on a child process.
type childProc struct {
	life   int
	cmd    *exec.Cmd
	in     *os.File // the parent's end of the request pipe
	output *outputWatch

	wmu     sync.Mutex
	mu      sync.Mutex
	next    uint64
	pending map[uint64]chan response

	started     time.Duration // from exec to "ready"
	killedEarly bool          // killed before it was ready

	ready   chan struct{} // the child answered "ready"
	dead    chan struct{} // the response stream ended: no more answers
	exited  chan struct{} // the process exited; waitErr is set
	waitErr error
}

// startChild starts incarnation life of the child and waits until it is
// ready to serve, or, if early is positive, at most early: then it kills
// the child where it is (opening the files, recovering) and returns it
// with killedEarly set.
func startChild(db, log string, life int, tune childTune, early time.Duration) (*childProc, error) {
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	respR, respW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		return nil, err
	}
	c := &childProc{
		life: life, in: reqW, output: &outputWatch{},
		pending: map[uint64]chan response{},
		ready:   make(chan struct{}), dead: make(chan struct{}), exited: make(chan struct{}),
	}
	bin, err := os.Executable()
	if err != nil {
		bin = os.Args[0]
	}
	c.cmd = exec.Command(bin, "-test.run=^TestKill9$", "-test.count=1")
	c.cmd.Env = append(os.Environ(), envChild+"=1", envDB+"="+db, envLog+"="+log, envLife+"="+strconv.Itoa(life),
		fmt.Sprintf("%s=%d,%d,%v", envTune, tune.workers, tune.maxBatch, tune.lazy))
	if tune.pg != nil {
		b, err := json.Marshal(tune.pg)
		if err != nil {
			return nil, err
		}
		c.cmd.Env = append(c.cmd.Env, envPG+"="+string(b))
	}
	if os.Getenv("GORACE") == "" {
		// Under -race, a data race in the child ends it at once, and the
		// parent reports the unexpected exit with the race report.
		c.cmd.Env = append(c.cmd.Env, "GORACE=halt_on_error=1")
	}
	c.cmd.ExtraFiles = []*os.File{reqR, respW} // fds 3 and 4
	c.cmd.Stdout, c.cmd.Stderr = c.output, c.output
	began := time.Now()
	err = c.cmd.Start()
	reqR.Close()
	respW.Close()
	if err != nil {
		reqW.Close()
		respR.Close()
		return nil, err
	}
	go c.readResponses(respR)
	go func() {
		c.waitErr = c.cmd.Wait()
		reqW.Close()
		close(c.exited)
	}()
	var kill <-chan time.Time
	if early > 0 {
		kill = time.After(early)
	}
	select {
	case <-c.ready:
		c.started = time.Since(began)
		return c, nil
	case <-kill:
		c.kill()
		c.killedEarly = true
		return c, nil
	case <-c.exited:
		return nil, fmt.Errorf("child %d exited before it was ready: %v\n%s", life, c.waitErr, c.output.tail())
	case <-time.After(time.Minute):
		c.kill()
		return nil, fmt.Errorf("child %d not ready after a minute\n%s", life, c.output.tail())
	}
}

func (c *childProc) readResponses(r *os.File) {
	defer r.Close()
	defer close(c.dead)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var resp response
		if err := json.Unmarshal(sc.Bytes(), &resp); err != nil {
			c.output.note(fmt.Sprintf("parent: bad response %q: %v", sc.Text(), err))
			return
		}
		if resp.ID == 0 {
			close(c.ready)
			continue
		}
		c.mu.Lock()
		ch := c.pending[resp.ID]
		delete(c.pending, resp.ID)
		c.mu.Unlock()
		if ch == nil {
			c.output.note(fmt.Sprintf("parent: response to unknown request %d", resp.ID))
			continue
		}
		ch <- resp
	}
}

// call sends req and waits for its answer; false means the child died
// first, so the outcome is unknown. Answers the child wrote before it died
// are still read: they were acknowledgements.
func (c *childProc) call(req request) (response, bool) {
	ch := make(chan response, 1)
	c.mu.Lock()
	c.next++
	req.ID = c.next
	c.pending[req.ID] = ch
	c.mu.Unlock()
	b, err := json.Marshal(req)
	if err != nil {
		panic(err)
	}
	c.wmu.Lock()
	_, err = c.in.Write(append(b, '\n'))
	c.wmu.Unlock()
	if err != nil {
		return response{}, false
	}
	select {
	case r := <-ch:
		return r, true
	case <-c.dead:
		// The reader hands out every answer before it reports the end.
		select {
		case r := <-ch:
			return r, true
		default:
			return response{}, false
		}
	}
}

func (c *childProc) gone() <-chan struct{} { return c.dead }

// signal sends sig to the process.
func (c *childProc) signal(sig os.Signal) error { return c.cmd.Process.Signal(sig) }

// kill sends SIGKILL and waits for the process to be gone.
func (c *childProc) kill() {
	_ = c.cmd.Process.Kill()
	<-c.exited
}

// outputWatch collects a child's stdout and stderr: the last lines for
// messages, lines that show a crash or a race, and engine warnings.
type outputWatch struct {
	mu        sync.Mutex
	partial   []byte
	last      []string
	alarms    []string
	warnings  []string // the first few engine warnings
	nwarnings int
	lost      int // "lease lost" lines: work this process stopped because its lease was taken over
}

func (w *outputWatch) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, b...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.line(string(w.partial[:i]))
		w.partial = w.partial[i+1:]
	}
	return len(b), nil
}

func (w *outputWatch) line(s string) {
	switch {
	case strings.Contains(s, "DATA RACE"), strings.Contains(s, "panic:"), strings.Contains(s, "fatal error:"),
		strings.HasPrefix(s, "--- FAIL"), s == "FAIL", strings.HasPrefix(s, "FAIL\t"):
		w.alarms = append(w.alarms, s)
	case strings.Contains(s, "lease lost"):
		w.lost++
	case strings.Contains(s, "level=WARN"):
		if w.warnings = append(w.warnings, s); len(w.warnings) > 5 {
			w.warnings = w.warnings[:5]
		}
		w.nwarnings++
	}
	if w.last = append(w.last, s); len(w.last) > 60 {
		w.last = w.last[len(w.last)-60:]
	}
}

func (w *outputWatch) note(s string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.alarms = append(w.alarms, s)
	w.line(s)
}

// tail returns the last lines of output.
func (w *outputWatch) tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(append(w.last, string(w.partial)), "\n")
}

// leasesLost returns how many times the process reported a lost lease.
func (w *outputWatch) leasesLost() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lost
}

// result returns the lines that show a failure, the first few engine
// warnings and how many there were.
func (w *outputWatch) result() (alarms, warnings []string, nwarnings int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.alarms, w.warnings, w.nwarnings
}
