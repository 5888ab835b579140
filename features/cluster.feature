@cluster
Feature: Admission in a real cluster
  The same rules through the real API server: kubectl applies the workload,
  the Quartermaster webhook registered by the chart places or refuses it, and
  the API server stores what the webhook decided. These scenarios run in make
  e2e, against the local control plane with KWOK GPU nodes.

  Scenario: A GPU Job is stored with its placement, and its pods carry it
    Given a Job requesting 1 replica of 8 "H100" GPUs
    When it is applied to the cluster
    Then the cluster stores it placed in the jurisdiction "us"
    And its pods are created with its placement

  Scenario: Data that must stay in the EU is placed in the EU
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And its data must stay in "eu"
    When it is applied to the cluster
    Then the cluster stores it placed in the jurisdiction "eu"
    And its pods are created with its placement

  Scenario: Interruptible work is placed on spot capacity
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And it is interruptible
    When it is applied to the cluster
    Then the cluster stores it placed on "spot" capacity

  Scenario: A privileged GPU pod is refused with the reason
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And it runs a privileged container
    When it is applied to the cluster
    Then the cluster refuses it with "access-privileged: pod set template runs a privileged container"

  Scenario: An unknown team is refused
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And it belongs to team "marketing"
    When it is applied to the cluster
    Then the cluster refuses it with "access-unknown-team"

  Scenario: The default service account is refused
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And it runs as the default service account
    When it is applied to the cluster
    Then the cluster refuses it with "access-default-service-account"

  Scenario: A malformed annotation is refused naming it
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And its annotation "quartermaster.io/interruptible" is "yes"
    When it is applied to the cluster
    Then the cluster refuses it with "annotation quartermaster.io/interruptible: value"

  Scenario: A pin outside the residency is refused
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And its data must stay in "eu"
    And it pins region "us-east-1"
    When it is applied to the cluster
    Then the cluster refuses it with "residency-pin-outside"

  Scenario: Over the team's hourly budget is refused
    Given a Job requesting 4 replicas of 8 "H100" GPUs
    And it belongs to team "nlp"
    When it is applied to the cluster
    Then the cluster refuses it with "budget-price-per-hour"

  Scenario: A copied decision annotation does not bypass policy
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And it carries a decision annotation copied from another workload placing it in "aws" "us-east-1"
    And it runs a privileged container
    When it is applied to the cluster
    Then the cluster refuses it with "access-privileged"

  Scenario: Work without GPUs is stored untouched
    Given a Deployment without GPUs
    When it is applied to the cluster
    Then the cluster stores it without a decision

  Scenario: Labelling and scaling a placed Deployment keep its decision
    Given a Deployment requesting 1 replica of 1 "L4" GPU
    When it is applied to the cluster
    And it is labelled "owner" with "alice" in the cluster
    And it is scaled to 3 replicas in the cluster
    Then the cluster keeps its first decision

  Scenario: Too few inference replicas are admitted with a kubectl warning
    Given a Deployment requesting 2 replicas of 1 "L4" GPU
    And it serves 40 requests per second at 120ms@L4 per request with a p99 objective of 2s
    When it is applied to the cluster
    Then kubectl warns "inference SLO p99"
