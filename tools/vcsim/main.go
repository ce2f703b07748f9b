// Command vcsim serves govmomi's vCenter simulator (Debian's golang-github-vmware-govmomi-dev)
// with the inventory, TLS, credentials and version that Polyvisor's tests, benchmarks and
// demo ask for. It prints one JSON line on stdout once it is listening:
//
//	{"url":"https://127.0.0.1:40123/sdk","caFile":"/tmp/x/ca.pem","username":"user",...}
//
// and serves until SIGINT/SIGTERM (or, with -exit-on-eof, until its stdin closes, so an
// orphaned simulator never outlives the process that started it). The password is read
// from $VCSIM_PASSWORD so that it never shows in a process listing.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/ioutil"
	"log"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type ready struct {
	URL          string `json:"url"`
	CAFile       string `json:"caFile,omitempty"`
	Username     string `json:"username"`
	Dir          string `json:"dir"`
	DatastoreDir string `json:"datastoreDir"`
	Version      string `json:"version"`
	ESX          bool   `json:"esx"`
	PID          int    `json:"pid"`
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on (port 0 picks a free port)")
	useTLS := flag.Bool("tls", true, "serve HTTPS with a generated self-signed certificate (its CA file is written to -dir)")
	esx := flag.Bool("esx", false, "answer as a standalone ESXi host instead of a vCenter")
	dc := flag.Int("dc", 1, "datacenters")
	cluster := flag.Int("cluster", 1, "clusters per datacenter")
	host := flag.Int("host", 3, "hosts per cluster")
	standalone := flag.Int("standalone-host", 1, "standalone hosts per datacenter")
	ds := flag.Int("ds", 1, "datastores (real directories under -dir)")
	vm := flag.Int("vm", 2, "VMs per resource pool / host created by the model")
	pool := flag.Int("pool", 0, "child resource pools per cluster")
	dvpg := flag.Int("dvpg", 1, "distributed port groups per datacenter (on one distributed switch; 0: no switch)")
	stdpg := flag.Int("std-pg", 0, "extra standard port groups (PG0, PG1, ...) added to vSwitch0 of every host")
	version := flag.String("version", "", "vCenter/ESXi version to report (for example 7.0.3; default: the simulator's 6.5.0)")
	apiVersion := flag.String("api-version", "", "API version to report (default: derived from -version)")
	username := flag.String("username", "user", "the only user that can log in")
	dir := flag.String("dir", "", "state directory: datastores and the CA file (default: a new temp dir, removed on exit)")
	idle := flag.Duration("session-idle-timeout", 0, "expire sessions idle this long (0: never)")
	updateInterval := flag.Duration("update-interval", 10*time.Millisecond, "how often WaitForUpdatesEx looks for changes (stock vcsim: 250ms)")
	taskDelay := flag.Duration("task-delay", 0, "keep every *_Task running this long before it completes")
	control := flag.Bool("control", false, "serve /_harness/ fault injection and task delay endpoints (tests only)")
	exitOnEOF := flag.Bool("exit-on-eof", false, "exit when stdin reaches end of file")
	flag.Parse()

	password := os.Getenv("VCSIM_PASSWORD")
	if password == "" {
		password = "pass"
	}

	stateDir, removeState := *dir, false
	if stateDir == "" {
		d, err := ioutil.TempDir("", "polyvisor-vcsim-")
		if err != nil {
			log.Fatal(err)
		}
		stateDir, removeState = d, true
	}
	dsDir := filepath.Join(stateDir, "datastores")
	if err := os.MkdirAll(dsDir, 0o700); err != nil {
		log.Fatal(err)
	}
	// The model creates each datastore with ioutil.TempDir("", ...): point it at our directory.
	_ = os.Setenv("TMPDIR", dsDir)

	simulator.SessionIdleTimeout = *idle
	simulator.WaitForUpdatesInterval = *updateInterval

	model := simulator.VPX()
	if *esx {
		model = simulator.ESX()
	} else {
		model.Datacenter = *dc
		model.Cluster = *cluster
		model.ClusterHost = *host
		model.Host = *standalone
		model.Portgroup = *dvpg
		model.Pool = *pool
	}
	model.Datastore = *ds
	model.Machine = *vm
	if *version != "" {
		about := &model.ServiceContent.About
		about.Version = *version
		about.ApiVersion = *apiVersion
		if about.ApiVersion == "" {
			about.ApiVersion = apiVersionOf(*version)
		}
		about.FullName = fmt.Sprintf("%s %s build-%s", about.Name, about.Version, about.Build)
	}
	if err := model.Create(); err != nil {
		log.Fatal(err)
	}
	if *stdpg > 0 {
		if err := addStandardPortGroups(model, *stdpg); err != nil {
			log.Fatal(err)
		}
	}

	model.Service.Listen = &url.URL{Host: *listen, User: url.UserPassword(*username, password)}
	caFile := ""
	if *useTLS {
		cfg, pemCert, err := selfSignedTLS()
		if err != nil {
			log.Fatal(err)
		}
		caFile = filepath.Join(stateDir, "ca.pem")
		if err := ioutil.WriteFile(caFile, pemCert, 0o600); err != nil {
			log.Fatal(err)
		}
		model.Service.TLS = cfg
	}
	server := model.Service.NewServer()
	// Nothing can connect before the URL is printed below, so swapping the handler here
	// does not race with a request.
	h := newHarness(server.Config.Handler, *control)
	h.setTaskDelay("*", *taskDelay)
	server.Config.Handler = h

	u := *server.URL
	u.User = nil
	out, _ := json.Marshal(ready{
		URL: u.String(), CAFile: caFile, Username: *username, Dir: stateDir, DatastoreDir: dsDir,
		Version: model.ServiceContent.About.Version, ESX: *esx, PID: os.Getpid(),
	})
	fmt.Println(string(out))

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	if *exitOnEOF {
		go func() {
			_, _ = io.Copy(ioutil.Discard, os.Stdin)
			stop <- syscall.SIGTERM
		}()
	}
	<-stop
	// Close waits for calls in progress; do not let a stuck one keep us (and our temp dirs) alive.
	closed := make(chan struct{})
	go func() {
		server.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(3 * time.Second):
		log.Print("vcsim: calls still in progress after 3s; exiting anyway")
	}
	model.Remove()
	if removeState {
		_ = os.RemoveAll(stateDir)
	}
}

// apiVersionOf turns "7.0.3" into "7.0": vSphere's API version names major.minor.
func apiVersionOf(v string) string {
	var major, minor int
	if n, _ := fmt.Sscanf(v, "%d.%d", &major, &minor); n == 2 {
		return fmt.Sprintf("%d.%d", major, minor)
	}
	return v
}

// addStandardPortGroups adds PG0..PGn-1 to vSwitch0 of every host, through the simulator's
// own in-process vim25 client, as an administrator would with AddPortGroup.
func addStandardPortGroups(model *simulator.Model, n int) error {
	ctx := context.Background()
	c, err := vim25.NewClient(ctx, model.Service)
	if err != nil {
		return err
	}
	for _, e := range simulator.Map.All("HostSystem") {
		ns, err := object.NewHostSystem(c, e.Reference()).ConfigManager().NetworkSystem(ctx)
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			spec := types.HostPortGroupSpec{Name: fmt.Sprintf("PG%d", i), VswitchName: "vSwitch0"}
			if err := ns.AddPortGroup(ctx, spec); err != nil {
				// Port groups are datacenter-wide networks: the first host creates them,
				// the others answer DuplicateName.
				if !soap.IsSoapFault(err) {
					return err
				}
			}
		}
	}
	return nil
}
