// xds-dump asks istiod for the configuration it would push to one pod's sidecar proxy, the way
// that proxy would ask, and prints it as JSON. No envoy binary is needed: the client is Istio's own
// delta ADS client (istio.io/istio/pkg/adsc), which subscribes to every cluster and listener and
// then, as envoy does, to the endpoints those clusters name and the route configurations those
// listeners name (extracted with Istio's pilot/test/xdstest), ACKing each response.
//
//	kubectl get pod <pod> -n <ns> -o json | xds-dump --xds 127.0.0.1:15010 [--timeout 30s]
//
// The node it presents is the pod's: ID sidecar~<podIP>~<pod>.<ns>~<ns>.svc.cluster.local and
// the metadata pilot-agent builds from the injected istio-proxy container's environment
// (pkg/bootstrap.GetNodeMetaData, with the proxy config from PROXY_CONFIG as
// pilot-agent's config.ConstructProxyConfig merges it), plus the pod's labels and annotations,
// which a real agent reads from its downward-API files. It connects to istiod's plaintext XDS
// port, which does not authenticate the client.
//
// Output: {"node":{...},"listeners":[...],"clusters":[...],"routes":[...],"endpoints":[...]},
// each resource in protobuf JSON with its @type, sorted by name. Built by tools/tools.sh (target xds-dump).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"

	agentconfig "istio.io/istio/pilot/cmd/pilot-agent/config"
	"istio.io/istio/pilot/pkg/model"
	v3 "istio.io/istio/pilot/pkg/xds/v3"
	"istio.io/istio/pilot/test/xdstest"
	"istio.io/istio/pkg/adsc"
	"istio.io/istio/pkg/bootstrap"
	"istio.io/istio/pkg/config/constants"
	"istio.io/istio/pkg/log"
	// Registers every envoy extension type, so typed filter configs print as JSON.
	_ "istio.io/istio/pkg/config/xds"
)

// pod is the part of a Kubernetes Pod the agent's environment is resolved from.
type pod struct {
	Metadata struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec struct {
		NodeName           string      `json:"nodeName"`
		ServiceAccountName string      `json:"serviceAccountName"`
		Containers         []container `json:"containers"`
		InitContainers     []container `json:"initContainers"`
	} `json:"spec"`
	Status struct {
		PodIP  string `json:"podIP"`
		HostIP string `json:"hostIP"`
	} `json:"status"`
}

type container struct {
	Name string `json:"name"`
	Env  []struct {
		Name      string `json:"name"`
		Value     string `json:"value"`
		ValueFrom *struct {
			FieldRef *struct {
				FieldPath string `json:"fieldPath"`
			} `json:"fieldRef"`
		} `json:"valueFrom"`
	} `json:"env"`
}

// field resolves a downward-API fieldRef as the kubelet would, for the fields the injector uses.
func (p *pod) field(path string) (string, bool) {
	switch path {
	case "metadata.name":
		return p.Metadata.Name, true
	case "metadata.namespace":
		return p.Metadata.Namespace, true
	case "spec.nodeName":
		return p.Spec.NodeName, true
	case "spec.serviceAccountName":
		return p.Spec.ServiceAccountName, true
	case "status.podIP", "status.podIPs":
		return p.Status.PodIP, true
	case "status.hostIP":
		return p.Status.HostIP, true
	}
	return "", false
}

// proxyEnv is the istio-proxy container's environment as NAME=value lines (native sidecars are init containers).
func (p *pod) proxyEnv() ([]string, error) {
	for _, c := range append(append([]container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		if c.Name != "istio-proxy" {
			continue
		}
		env := []string{}
		for _, e := range c.Env {
			value := e.Value
			if e.ValueFrom != nil {
				if e.ValueFrom.FieldRef == nil {
					continue // resource limits and secrets: nothing the node metadata is built from
				}
				resolved, ok := p.field(e.ValueFrom.FieldRef.FieldPath)
				if !ok {
					continue
				}
				value = resolved
			}
			env = append(env, e.Name+"="+value)
		}
		return env, nil
	}
	return nil, fmt.Errorf("pod %s/%s has no istio-proxy container", p.Metadata.Namespace, p.Metadata.Name)
}

func lookup(env []string, name string) string {
	for _, line := range env {
		if value, ok := strings.CutPrefix(line, name+"="); ok {
			return value
		}
	}
	return ""
}

// nodeMetadata builds the metadata pilot-agent sends, as a protobuf Struct.
func nodeMetadata(p *pod, env []string) (*structpb.Struct, *core.Locality, error) {
	proxyConfig, err := agentconfig.ConstructProxyConfig("", "istio-proxy", lookup(env, "PROXY_CONFIG"), 0)
	if err != nil {
		return nil, nil, fmt.Errorf("proxy config: %v", err)
	}
	node, err := bootstrap.GetNodeMetaData(bootstrap.MetadataOptions{Envs: env, InstanceIPs: []string{p.Status.PodIP}, ProxyConfig: proxyConfig})
	if err != nil {
		return nil, nil, err
	}
	// What the agent reads from the downward-API files /etc/istio/pod/{labels,annotations}.
	node.Metadata.Labels = map[string]string{}
	for k, v := range p.Metadata.Labels {
		if k != bootstrap.DefaultDeploymentUniqueLabelKey {
			node.Metadata.Labels[k] = v
		}
	}
	node.Metadata.Annotations = p.Metadata.Annotations
	// The bootstrap's meta_json_str: typed metadata, then every untyped key it does not already have
	// (pkg/bootstrap/option.marshalMetadata).
	typed, err := json.Marshal(node.Metadata)
	if err != nil {
		return nil, nil, err
	}
	merged := map[string]any{}
	if err := json.Unmarshal(typed, &merged); err != nil {
		return nil, nil, err
	}
	for k, v := range node.RawMetadata {
		if _, found := merged[k]; !found {
			merged[k] = v
		}
	}
	metadata, err := structpb.NewStruct(merged)
	return metadata, node.Locality, err
}

// config is what the client holds, by type URL and resource name, as envoy would.
type config struct {
	mu         sync.Mutex
	resources  map[string]map[string]proto.Message
	lastChange time.Time
}

// follow registers a handler that keeps a type's resources and subscribes to what each one names.
func follow[T proto.Message](c *config, typeURL string, dependencies func(ctx adsc.HandlerContext, resource T)) adsc.Option {
	c.resources[typeURL] = map[string]proto.Message{}
	return adsc.Register(func(ctx adsc.HandlerContext, name, _ string, resource T, event adsc.Event) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.lastChange = time.Now()
		if event == adsc.EventDelete {
			delete(c.resources[typeURL], name)
			return
		}
		c.resources[typeURL][name] = resource
		if dependencies != nil {
			dependencies(ctx, resource)
		}
	})
}

// complete says whether every route configuration the listeners name has arrived, and since when nothing changed.
func (c *config) complete() (bool, time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	listeners := []*listener.Listener{}
	for _, l := range c.resources[v3.ListenerType] {
		listeners = append(listeners, l.(*listener.Listener))
	}
	for _, name := range xdstest.ExtractRoutesFromListeners(listeners) {
		if _, found := c.resources[v3.RouteType][name]; !found {
			return false, 0
		}
	}
	return true, time.Since(c.lastChange)
}

func (c *config) json(typeURL string) ([]json.RawMessage, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	names := make([]string, 0, len(c.resources[typeURL]))
	for name := range c.resources[typeURL] {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make([]json.RawMessage, 0, len(names))
	for _, name := range names {
		resource, err := anypb.New(c.resources[typeURL][name])
		if err != nil {
			return nil, err
		}
		text, err := protojson.Marshal(resource)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %v", typeURL, name, err)
		}
		out = append(out, text)
	}
	return out, nil
}

func run() error {
	// Istio's logging writes to stdout by default; stdout carries the JSON.
	logOptions := log.DefaultOptions()
	logOptions.OutputPaths = []string{"stderr"}
	if err := log.Configure(logOptions); err != nil {
		return err
	}
	xds := flag.String("xds", "", "istiod's plaintext XDS address (host:port)")
	timeout := flag.Duration("timeout", 30*time.Second, "how long to wait for clusters, endpoints, listeners and routes")
	settle := flag.Duration("settle", 500*time.Millisecond, "how long no further change must arrive before the configuration is taken")
	flag.Parse()
	if *xds == "" {
		return fmt.Errorf("--xds is required")
	}
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		return err
	}
	var p pod
	if err := json.Unmarshal(input, &p); err != nil {
		return fmt.Errorf("reading the pod from stdin: %v", err)
	}
	if p.Status.PodIP == "" {
		return fmt.Errorf("pod %s/%s has no IP yet", p.Metadata.Namespace, p.Metadata.Name)
	}
	env, err := p.proxyEnv()
	if err != nil {
		return err
	}
	metadata, locality, err := nodeMetadata(&p, env)
	if err != nil {
		return err
	}
	received := &config{resources: map[string]map[string]proto.Message{}}
	client := adsc.NewDelta(*xds, &adsc.DeltaADSConfig{Config: adsc.Config{
		Namespace: p.Metadata.Namespace,
		Workload:  p.Metadata.Name,
		IP:        p.Status.PodIP,
		NodeType:  model.SidecarProxy,
		Meta:      metadata,
		Locality:  locality,
	}},
		follow(received, v3.ClusterType, func(ctx adsc.HandlerContext, c *cluster.Cluster) {
			ctx.RegisterDependency(v3.EndpointType, xdstest.ExtractEdsClusterNames([]*cluster.Cluster{c})...)
		}),
		follow(received, v3.ListenerType, func(ctx adsc.HandlerContext, l *listener.Listener) {
			ctx.RegisterDependency(v3.RouteType, xdstest.ExtractRoutesFromListeners([]*listener.Listener{l})...)
		}),
		follow[*endpoint.ClusterLoadAssignment](received, v3.EndpointType, nil),
		follow[*route.RouteConfiguration](received, v3.RouteType, nil),
		adsc.Watch[*cluster.Cluster]("*"),
		adsc.Watch[*listener.Listener]("*"),
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go client.Run(ctx)
	deadline := time.After(*timeout)
	select {
	case <-client.Synced():
	case <-deadline:
		return fmt.Errorf("no clusters and listeners from %s within %v", *xds, *timeout)
	}
	// Routes follow the listeners, and istiod may push again (it debounces changes): take the
	// configuration once every named route is there and nothing changed for a while.
	for {
		if done, quiet := received.complete(); done && quiet >= *settle {
			break
		}
		select {
		case <-deadline:
			return fmt.Errorf("the route configurations the listeners name did not all arrive within %v", *timeout)
		case <-time.After(100 * time.Millisecond):
		}
	}
	client.Close()
	out := map[string]any{"node": map[string]any{"id": fmt.Sprintf("sidecar~%s~%s.%s~%s.svc.%s", p.Status.PodIP, p.Metadata.Name, p.Metadata.Namespace, p.Metadata.Namespace, constants.DefaultClusterLocalDomain), "metadata": metadata.AsMap()}}
	for key, typeURL := range map[string]string{"listeners": v3.ListenerType, "clusters": v3.ClusterType, "routes": v3.RouteType, "endpoints": v3.EndpointType} {
		if out[key], err = received.json(typeURL); err != nil {
			return err
		}
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "xds-dump: %v\n", err)
		os.Exit(1)
	}
}
