// Command events runs Argo Events' own code for one namespace of the engine harness: the GitHub
// event source's webhook server and the Sensors' dependency filters and triggers, in one process and
// without an EventBus (deliveries go straight from the event source to the Sensors).
//
//	events -kubeconfig ADMIN -sensor-kubeconfig SA -namespace pressplay [-port 12000]
//
// What is Argo Events' code, unmodified:
//   - the webhook server and GitHub request shaping: github.EventListener.StartListening
//     (pkg/eventsources/sources/github/start.go: signature check, X-GitHub-Event / X-GitHub-Delivery
//     copied into the body, GithubEventData{headers, body});
//   - the event-source filter: expr.EvalBool (pkg/eventsources/eventing.go filterEvent);
//   - dependency transform and filters: dependencies.ApplyTransform / dependencies.Filter;
//   - triggers: triggers.ApplyTemplateParameters, then SensorContext.GetTrigger(...) and its
//     FetchResource / ApplyResourceParameters / Execute / ApplyPolicy (the argoWorkflow trigger runs
//     the `argo` CLI found on PATH, as in the sensor image), retried with sharedutil.DoWithRetry
//     under trigger.retryStrategy.
//
// What is ours, mirroring Argo Events: the CloudEvent envelope (eventing.go run's dispatch func),
// convertEvent (pkg/sensors/listener.go), the dependency expression of a trigger
// (listener.go getDependencyExpression, for dependency names; groups are not translated), and
// running every Sensor synchronously inside the dispatch so the webhook's 200 means "triggered".
//
// One JSON line per trigger decision goes to stdout (or -decisions FILE):
// {"delivery", "event", "sensor", "trigger", "fired", "workflow", "error"}.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/Knetic/govaluate"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"
	"go.uber.org/zap"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	aev1 "github.com/argoproj/argo-events/pkg/apis/events/v1alpha1"
	eventsourcecommon "github.com/argoproj/argo-events/pkg/eventsources/common"
	"github.com/argoproj/argo-events/pkg/eventsources/sources/github"
	"github.com/argoproj/argo-events/pkg/metrics"
	"github.com/argoproj/argo-events/pkg/sensors"
	"github.com/argoproj/argo-events/pkg/sensors/dependencies"
	sensortriggers "github.com/argoproj/argo-events/pkg/sensors/triggers"
	"github.com/argoproj/argo-events/pkg/shared/expr"
	"github.com/argoproj/argo-events/pkg/shared/logging"
	sharedutil "github.com/argoproj/argo-events/pkg/shared/util"
)

var (
	out             = os.Stdout
	eventSourcesGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "eventsources"}
	sensorsGVR      = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "sensors"}
	outMu           sync.Mutex
)

type decision struct {
	Delivery string `json:"delivery"`
	Event    string `json:"event"`
	Sensor   string `json:"sensor"`
	Trigger  string `json:"trigger"`
	Fired    bool   `json:"fired"`
	Workflow string `json:"workflow,omitempty"`
	Error    string `json:"error,omitempty"`
}

func emit(d decision) {
	outMu.Lock()
	defer outMu.Unlock()
	b, _ := json.Marshal(d)
	_, _ = out.Write(append(b, '\n'))
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig to read the EventSources and Sensors with")
	sensorKubeconfig := flag.String("sensor-kubeconfig", "", "kubeconfig of the Sensors' ServiceAccount (triggers run with it; also exported as KUBECONFIG for the argo CLI)")
	namespace := flag.String("namespace", "pressplay", "namespace of the EventSources and Sensors")
	port := flag.String("port", "", "serve every webhook on this port instead of the EventSource's (a pod port mapping)")
	decisions := flag.String("decisions", "", "append the trigger decisions to this file instead of stdout")
	flag.Parse()
	if *decisions != "" {
		f, err := os.OpenFile(*decisions, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			log.Fatal(err)
		}
		defer f.Close()
		out = f
	}

	logger := logging.NewArgoEventsLogger()
	ctx, cancel := signal.NotifyContext(logging.WithLogger(context.Background(), logger), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()

	adminCfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		log.Fatal(err)
	}
	adminDyn := dynamic.NewForConfigOrDie(adminCfg)
	saCfg, err := clientcmd.BuildConfigFromFlags("", *sensorKubeconfig)
	if err != nil {
		log.Fatal(err)
	}
	_ = os.Setenv("KUBECONFIG", *sensorKubeconfig)
	saKube := kubernetes.NewForConfigOrDie(saCfg)
	saDyn := dynamic.NewForConfigOrDie(saCfg)

	var sensorList []*aev1.Sensor
	sl, err := adminDyn.Resource(sensorsGVR).Namespace(*namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		log.Fatal(err)
	}
	for i := range sl.Items {
		s := &aev1.Sensor{}
		if err := fromUnstructured(&sl.Items[i], s); err != nil {
			log.Fatal(err)
		}
		sensorList = append(sensorList, s)
	}
	esl, err := adminDyn.Resource(eventSourcesGVR).Namespace(*namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		log.Fatal(err)
	}
	m := metrics.NewMetrics(*namespace)
	started := 0
	for i := range esl.Items {
		es := &aev1.EventSource{}
		if err := fromUnstructured(&esl.Items[i], es); err != nil {
			log.Fatal(err)
		}
		for name, ghes := range es.Spec.Github {
			if *port != "" && ghes.Webhook != nil {
				ghes.Webhook.Port = *port
			}
			listener := &github.EventListener{EventSourceName: es.Name, EventName: name, GithubEventSource: ghes, Metrics: m}
			src := es.Name
			evName := name
			filter := ghes.Filter
			started++
			go func() {
				err := listener.StartListening(ctx, func(data []byte, opts ...eventsourcecommon.Option) error {
					return dispatch(ctx, logger, saKube, saDyn, sensorList, src, evName, filter, data, opts...)
				})
				if err != nil {
					log.Printf("event source %s/%s stopped: %v", src, evName, err)
					cancel()
				}
			}()
		}
	}
	if started == 0 {
		log.Fatalf("no GitHub event source in namespace %s", *namespace)
	}
	fmt.Fprintf(os.Stderr, "events: %d GitHub event(s), %d sensor(s)\n", started, len(sensorList))
	<-ctx.Done()
}

func fromUnstructured(u *unstructured.Unstructured, into any) error {
	b, err := u.MarshalJSON()
	if err != nil {
		return err
	}
	return json.Unmarshal(b, into)
}

// dispatch is the event source's dispatch function followed by every Sensor listening to it.
func dispatch(ctx context.Context, logger *zap.SugaredLogger, kube kubernetes.Interface, dyn dynamic.Interface,
	sensorList []*aev1.Sensor, source, eventName string, filter *aev1.EventSourceFilter, data []byte,
	opts ...eventsourcecommon.Option) error {
	delivery := deliveryOf(data)
	// eventing.go run: the event source's filter first.
	if filter != nil && filter.Expression != "" {
		dataMap := map[string]interface{}{}
		if err := json.Unmarshal(data, &dataMap); err != nil {
			return nil
		}
		params := map[string]interface{}{}
		for k, v := range dataMap {
			params[strings.ReplaceAll(k, "-", "_")] = v
		}
		ok, err := expr.EvalBool(filter.Expression, expr.GetFuncMap(params))
		if err != nil || !ok {
			return nil
		}
	}
	// eventing.go run: the CloudEvent envelope.
	id := uuid.New()
	ce := cloudevents.NewEvent()
	ce.SetID(fmt.Sprintf("%x", id[:]))
	ce.SetType(string(aev1.GithubEvent))
	ce.SetSource(source)
	ce.SetSubject(eventName)
	ce.SetTime(time.Now())
	for _, opt := range opts {
		if err := opt(&ce); err != nil {
			return err
		}
	}
	if err := ce.SetData(cloudevents.ApplicationJSON, data); err != nil {
		return err
	}
	// The bus round trip: the Sensor decodes the JSON-encoded CloudEvent.
	wire, err := json.Marshal(ce)
	if err != nil {
		return err
	}
	for _, sensor := range sensorList {
		fired := map[string]cloudevents.Event{}
		for _, dep := range sensor.Spec.Dependencies {
			if dep.EventSourceName != source || dep.EventName != eventName {
				continue
			}
			ev := cloudevents.NewEvent()
			if err := json.Unmarshal(wire, &ev); err != nil {
				return err
			}
			// trigger_conn.go: transform, then filter (listener.go transformFunc / filterFunc).
			if dep.Transform != nil {
				t, err := dependencies.ApplyTransform(&ev, dep.Transform)
				if err != nil {
					logger.Warnf("sensor %s: transform of %s failed: %v", sensor.Name, dep.Name, err)
					continue
				}
				ev = *t
			}
			if dep.Filters != nil {
				ok, err := dependencies.Filter(convertEvent(ev), dep.Filters, dep.FiltersLogicalOperator)
				if err != nil && !ok {
					logger.Infof("sensor %s: event discarded due to filtering error: %v", sensor.Name, err)
				}
				if !ok {
					continue
				}
			}
			fired[dep.Name] = ev
		}
		sensorCtx := sensors.NewSensorContext(kube, dyn, sensor, nil, "", "engine", metrics.NewMetrics(sensor.Namespace))
		for _, trigger := range sensor.Spec.Triggers {
			d := decision{Delivery: delivery, Event: eventName, Sensor: sensor.Name, Trigger: trigger.Template.Name}
			ok, events, err := satisfied(sensor, trigger, fired)
			if err != nil {
				d.Error = err.Error()
				emit(d)
				continue
			}
			if !ok {
				emit(d)
				continue
			}
			d.Fired = true
			retry := trigger.RetryStrategy
			if retry == nil {
				retry = &aev1.Backoff{Steps: 1}
			}
			var lastErr error
			_ = sharedutil.DoWithRetry(retry, func() error {
				name, err := triggerOne(ctx, sensorCtx, trigger, events)
				d.Workflow = name
				lastErr = err
				return err
			})
			if lastErr != nil {
				d.Error = lastErr.Error()
			}
			emit(d)
		}
	}
	return nil
}

func deliveryOf(data []byte) string {
	var env struct {
		Body map[string]interface{} `json:"body"`
	}
	if json.Unmarshal(data, &env) == nil {
		if s, ok := env.Body["X-GitHub-Delivery"].(string); ok {
			return s
		}
	}
	return ""
}

// satisfied evaluates the trigger's dependency expression as listener.go does (govaluate over the
// dependency names, all of them joined by && when `conditions` is empty).
func satisfied(sensor *aev1.Sensor, trigger aev1.Trigger, fired map[string]cloudevents.Event) (bool, map[string]*aev1.Event, error) {
	exprText := trigger.Template.Conditions
	if exprText == "" {
		var names []string
		for _, dep := range sensor.Spec.Dependencies {
			names = append(names, dep.Name)
		}
		exprText = strings.Join(names, "&&")
	}
	e, err := govaluate.NewEvaluableExpression(strings.ReplaceAll(exprText, "-", "\\-"))
	if err != nil {
		return false, nil, err
	}
	params := map[string]interface{}{}
	for _, v := range e.Vars() {
		_, ok := fired[v]
		params[v] = ok
	}
	res, err := e.Evaluate(params)
	if err != nil {
		return false, nil, err
	}
	if b, _ := res.(bool); !b {
		return false, nil, nil
	}
	events := map[string]*aev1.Event{}
	for name, ev := range fired {
		events[name] = convertEvent(ev)
	}
	return true, events, nil
}

// triggerOne mirrors listener.go triggerOne.
func triggerOne(ctx context.Context, sensorCtx *sensors.SensorContext, trigger aev1.Trigger, events map[string]*aev1.Event) (string, error) {
	if err := sensortriggers.ApplyTemplateParameters(events, &trigger); err != nil {
		return "", err
	}
	impl := sensorCtx.GetTrigger(ctx, &trigger)
	if impl == nil {
		return "", fmt.Errorf("invalid trigger %s, could not find an implementation", trigger.Template.Name)
	}
	obj, err := impl.FetchResource(ctx)
	if err != nil {
		return "", err
	}
	if obj == nil {
		return "", fmt.Errorf("invalid trigger %s, could not fetch the trigger resource", trigger.Template.Name)
	}
	updated, err := impl.ApplyResourceParameters(events, obj)
	if err != nil {
		return "", err
	}
	name := ""
	if u, ok := updated.(*unstructured.Unstructured); ok {
		name = u.GetName()
	}
	newObj, err := impl.Execute(ctx, events, updated)
	if err != nil {
		return name, fmt.Errorf("failed to execute trigger, %w", err)
	}
	if u, ok := newObj.(*unstructured.Unstructured); ok && u != nil {
		name = u.GetName()
	}
	if err := impl.ApplyPolicy(ctx, newObj); err != nil {
		return name, err
	}
	return name, nil
}

// convertEvent is listener.go convertEvent.
func convertEvent(event cloudevents.Event) *aev1.Event {
	return &aev1.Event{
		Context: &aev1.EventContext{
			DataContentType: event.Context.GetDataContentType(),
			Source:          event.Context.GetSource(),
			SpecVersion:     event.Context.GetSpecVersion(),
			Type:            event.Context.GetType(),
			Time:            metav1.Time{Time: event.Context.GetTime()},
			ID:              event.Context.GetID(),
			Subject:         event.Context.GetSubject(),
		},
		Data: event.Data(),
	}
}
