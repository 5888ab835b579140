Feature: Webhook safety
  The API server depends on the webhook for every GPU object. It answers in
  time with the configured outcome, rejects what it cannot read with the
  right status, never judges what it need not, and cannot be bypassed with a
  hand-written decision.

  Scenario: A missed deadline denies, asking to retry
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And policy evaluation takes longer than the webhook's deadline
    And a missed deadline denies the request
    When it is admitted
    Then the answer has status 503 saying "quartermaster made no decision within 500ms; please retry"

  Scenario: A missed deadline may be configured to allow, with a warning
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And policy evaluation takes longer than the webhook's deadline
    And a missed deadline allows the request
    When it is admitted
    Then it is allowed
    And nothing is patched
    And it is warned "admitted without placement (the audit will report it)"

  Scenario: A body larger than the limit is refused before it is read
    Given a Job requesting 1 replica of 8 "H100" GPUs
    When the API server sends a body larger than the webhook accepts
    Then the webhook answers with HTTP status 413
    And the answer has status 413 saying "request body is larger than 7340032 bytes"

  Scenario: A body that is not JSON is a bad request
    When the API server sends this body:
      """
      {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", nvidia.com/gpu
      """
    Then the webhook answers with HTTP status 400

  Scenario: A review of another version is a bad request that says which
    When the API server sends this body:
      """
      {"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview",
       "request": {"uid": "1", "operation": "CREATE", "kind": {"group": "", "version": "v1", "kind": "Pod"},
                   "object": {"kind": "Pod", "spec": {"containers": [{"resources": {"limits": {"nvidia.com/gpu": 1}}}]}}}}
      """
    Then the answer has status 400 saying "want admission.k8s.io/v1 (set admissionReviewVersions: [v1])"

  Scenario: A body of another content type is refused
    Given a Job requesting 1 replica of 8 "H100" GPUs
    When the API server sends it with content type "text/plain"
    Then the webhook answers with HTTP status 415

  Scenario: A kind no workload rule describes that asks for GPUs is admitted with a warning
    Given a "Trainer" of API "example.com/v1" that no workload rule describes, asking for 4 "nvidia.com/gpu"
    When it is admitted
    Then it is allowed
    And nothing is patched
    And it is warned "is a kind Quartermaster has no workload rule for, so it is neither placed nor judged"

  Scenario: An exempt namespace is placed without policy
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And it runs in namespace "kube-system"
    And it runs as the default service account
    And it names no team
    When it is admitted
    Then it is allowed
    And it is placed on "H100" GPUs

  Scenario: A decision copied into a new manifest does not bypass policy
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And it carries a decision annotation copied from another workload placing it in "aws" "us-east-1"
    And it runs a privileged container
    When it is admitted
    Then it is denied with code "access-privileged"

  Scenario: A copied decision is replaced by the webhook's own
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And its data must stay in "eu"
    And it carries a decision annotation copied from another workload placing it in "aws" "us-east-1"
    When it is admitted
    Then it is placed in the jurisdiction "eu"

  Scenario: A request without GPUs is answered on the fast path
    Given a Deployment without GPUs
    When it is admitted
    Then it is allowed
    And nothing is patched
    And it is not warned
    And no decision is recorded

  Scenario: The validating webhook accepts the object as Quartermaster placed it, without a word
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And its data must stay in "eu"
    And it is admitted
    When the validating webhook judges it
    Then it is allowed
    And it is not warned

  Scenario: A pin another webhook moved out of the residency is denied by the validating webhook
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And its data must stay in "eu"
    And it is admitted
    And another mutating webhook then changes its region pin to "us-east-1"
    When the validating webhook judges it
    Then it is denied with code "residency-pin-outside"

  Scenario: A pin another webhook moved elsewhere within policy is admitted with a warning
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And its data must stay in "eu"
    And it is admitted
    And another mutating webhook then changes its region pin to "eu-central-1"
    When the validating webhook judges it
    Then it is allowed
    And it is warned "this object's placement does not match a Quartermaster decision"
