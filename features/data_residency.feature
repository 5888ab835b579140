Feature: Data residency
  Restricted data declares where it may live. A declared residency restricts
  the placement's jurisdiction; datasets or pins outside it are denied.

  Background:
    Given the dataset inventory knows:
      | location          | cloud | region       | encrypted | key              |
      | s3://ledger-eu/   | aws   | eu-central-1 | true      | customer-managed |
      | s3://corpus-us/   | aws   | us-east-1    | true      | customer-managed |
      | gs://archive-uk/  | gcp   | europe-west2 | true      | customer-managed |

  Scenario: A PyTorchJob with restricted data resident in the EU runs in the EU
    Given a PyTorchJob requesting 4 replicas of 8 "H100" GPUs
    And its data is classified "restricted"
    And its data must stay in "eu"
    And it reads the dataset "s3://ledger-eu/2026/"
    When it is admitted
    Then it is allowed
    And it is placed in the jurisdiction "eu"
    And it uses 4 nodes at 242.176 dollars per hour
    And the decision names policy "quartermaster.residency"

  Scenario Outline: Residency rules
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And its data is classified "<classification>"
    And <residency>
    And <data>
    When it is admitted
    Then it is <outcome>

    Examples:
      | classification | residency                     | data                                     | outcome                                            |
      | restricted     | its data must stay in "eu"    | it reads the dataset "s3://ledger-eu/a/" | allowed                                            |
      | restricted     | it expects to run for 1h      | it reads the dataset "s3://ledger-eu/a/" | denied with code "residency-undeclared"            |
      | confidential   | its data must stay in "eu"    | it reads the dataset "s3://corpus-us/a/" | denied with code "residency-dataset-outside"       |
      | restricted     | its data must stay in "eu"    | it reads the dataset "s3://unknown/a/"   | denied with code "residency-dataset-unverified"    |
      | restricted     | its data must stay in "eu,uk" | it reads the dataset "gs://archive-uk/a/" | allowed                                           |
      | restricted     | its data must stay in "eu"    | it pins region "us-east-1"               | denied with code "residency-pin-outside"           |
      | internal       | its data must stay in "uk"    | it reads the dataset "gs://archive-uk/a/" | allowed                                           |

  Scenario: Restricted data without a declared residency is told how to declare it
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And its data is classified "restricted"
    When it is admitted
    Then it is denied with code "residency-undeclared"
    And the denial says "add the annotation quartermaster.io/residency"

  Scenario: A dataset outside the residency is named with where it lives
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And its data must stay in "eu"
    And it reads the dataset "s3://corpus-us/v3/"
    When it is admitted
    Then it is denied with code "residency-dataset-outside"
    And the denial says "dataset s3://corpus-us/v3/ lives in aws us-east-1 (jurisdiction \"us\"), outside the allowed residency eu"

  Scenario: Data that must stay in the UK runs in the UK
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And its data must stay in "uk"
    When it is admitted
    Then it is placed in the jurisdiction "uk"

  Scenario: A jurisdiction no catalog region has is refused
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And its data must stay in "mars"
    When it is admitted
    Then it is denied with code "invalid-annotation"
    And the denial says "quartermaster.io/residency"
