package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	k8sjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// kinds is deliberately explicit: a kind missing here is one the examples
// have no business using yet, and a typo in apiVersion or kind fails loudly.
var kinds = map[string]func() any{
	"v1/Pod":                            func() any { return &corev1.Pod{} },
	"v1/Service":                        func() any { return &corev1.Service{} },
	"v1/ConfigMap":                      func() any { return &corev1.ConfigMap{} },
	"v1/Secret":                         func() any { return &corev1.Secret{} },
	"v1/ServiceAccount":                 func() any { return &corev1.ServiceAccount{} },
	"apps/v1/Deployment":                func() any { return &appsv1.Deployment{} },
	"apps/v1/StatefulSet":               func() any { return &appsv1.StatefulSet{} },
	"apps/v1/DaemonSet":                 func() any { return &appsv1.DaemonSet{} },
	"batch/v1/Job":                      func() any { return &batchv1.Job{} },
	"batch/v1/CronJob":                  func() any { return &batchv1.CronJob{} },
	"rbac.authorization.k8s.io/v1/Role": func() any { return &rbacv1.Role{} },
	"rbac.authorization.k8s.io/v1/RoleBinding": func() any { return &rbacv1.RoleBinding{} },
	"policy/v1/PodDisruptionBudget":            func() any { return &policyv1.PodDisruptionBudget{} },
	"networking.k8s.io/v1/NetworkPolicy":       func() any { return &networkingv1.NetworkPolicy{} },
}

// header is read leniently first, only to pick the type for the strict decode.
type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
}

// ValidateKubernetes strictly decodes every document of a manifest file and
// runs the pod-spec rules on every workload in it. rel names the file in
// problems.
func ValidateKubernetes(path, rel string) []Problem {
	data, err := os.ReadFile(path)
	if err != nil {
		return []Problem{{File: rel, Msg: err.Error()}}
	}
	var problems []Problem
	r := k8syaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for n := 1; ; n++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return append(problems, Problem{File: rel, Msg: err.Error()})
		}
		for _, p := range validateDocument(doc, n) {
			p.File = rel
			problems = append(problems, p)
		}
	}
	return problems
}

func validateDocument(doc []byte, n int) []Problem {
	where := fmt.Sprintf("document %d", n)
	// The strict YAML to JSON step is what rejects duplicate keys, which
	// plain yaml.Unmarshal would silently resolve to the last value.
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return []Problem{{Object: where, Msg: err.Error()}}
	}
	if string(bytes.TrimSpace(js)) == "null" {
		return nil // only comments or an empty document between separators
	}
	var h header
	if err := json.Unmarshal(js, &h); err != nil {
		return []Problem{{Object: where, Msg: err.Error()}}
	}
	if h.Kind != "" && h.Metadata.Name != "" {
		where = h.Kind + "/" + h.Metadata.Name
	}
	newObj, ok := kinds[h.APIVersion+"/"+h.Kind]
	if !ok {
		return []Problem{{Object: where, Msg: fmt.Sprintf("unknown kind %q in apiVersion %q", h.Kind, h.APIVersion)}}
	}
	obj := newObj()
	// sigs.k8s.io/json is the API server's decoder: unlike encoding/json it
	// matches field names case-sensitively, so "Image:" is an unknown field.
	strictErrs, err := k8sjson.UnmarshalStrict(js, obj, k8sjson.DisallowUnknownFields, k8sjson.DisallowDuplicateFields)
	if err != nil {
		return []Problem{{Object: where, Msg: err.Error()}}
	}
	var problems []Problem
	for _, e := range strictErrs {
		problems = append(problems, Problem{Object: where, Msg: e.Error()})
	}
	if spec, prefix := podSpecOf(obj); spec != nil {
		for _, p := range checkPodSpec(spec, prefix) {
			p.Object = where
			problems = append(problems, p)
		}
	}
	return problems
}

func podSpecOf(obj any) (*corev1.PodSpec, string) {
	switch o := obj.(type) {
	case *corev1.Pod:
		return &o.Spec, "spec"
	case *appsv1.Deployment:
		return &o.Spec.Template.Spec, "spec.template.spec"
	case *appsv1.StatefulSet:
		return &o.Spec.Template.Spec, "spec.template.spec"
	case *appsv1.DaemonSet:
		return &o.Spec.Template.Spec, "spec.template.spec"
	case *batchv1.Job:
		return &o.Spec.Template.Spec, "spec.template.spec"
	case *batchv1.CronJob:
		return &o.Spec.JobTemplate.Spec.Template.Spec, "spec.jobTemplate.spec.template.spec"
	}
	return nil, ""
}
