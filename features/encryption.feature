Feature: Encryption
  Confidential and restricted data is encrypted at rest: persistent volumes
  with a customer-managed key, datasets at all. Quartermaster reads the
  evidence from the cluster's storage classes and the dataset inventory.

  Background:
    Given the cluster has these storage classes:
      | name        | provisioner           | parameters                                                      |
      | gp3-cmk     | ebs.csi.aws.com       | type=gp3 encrypted=true kmsKeyId=arn:aws:kms:eu-central-1:1:key/k |
      | gp3-aws-key | ebs.csi.aws.com       | type=gp3 encrypted=true                                          |
      | gp3-plain   | ebs.csi.aws.com       | type=gp3                                                         |
      | pd-cmek     | pd.csi.storage.gke.io | type=pd-ssd disk-encryption-kms-key=projects/p/locations/l/keyRings/r/cryptoKeys/k |
    And the cluster has these volume claims:
      | namespace | name     | storage class |
      | research  | cmk      | gp3-cmk       |
      | research  | aws-key  | gp3-aws-key   |
      | research  | plain    | gp3-plain     |
      | research  | gke-cmek | pd-cmek       |
    And the dataset inventory knows:
      | location             | cloud | region      | encrypted | key              |
      | s3://corpus-us/      | aws   | us-east-1   | true      | provider-managed |
      | gs://public-bench/   | gcp   | us-central1 | false     |                  |

  Scenario Outline: Volumes of <classification> data need <need>
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And its data is classified "<classification>"
    And it mounts the volume claim "<claim>"
    When it is admitted
    Then it is <outcome>

    Examples:
      | classification | claim    | need                    | outcome                                                |
      | confidential   | cmk      | a customer-managed key  | allowed                                                |
      | confidential   | gke-cmek | a customer-managed key  | allowed                                                |
      | confidential   | aws-key  | a customer-managed key  | denied with code "encryption-customer-key-required"    |
      | confidential   | plain    | a customer-managed key  | denied with code "encryption-customer-key-required"    |
      | internal       | aws-key  | nothing                 | allowed                                                |
      | public         | cmk      | nothing                 | allowed                                                |

  Scenario: The denial names the volume and what was found
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And its data is classified "confidential"
    And it mounts the volume claim "aws-key"
    When it is admitted
    Then it is denied with code "encryption-customer-key-required"
    And the denial says "volume \"aws-key\" of pod set template must be encrypted with a customer-managed key (found: EBS encrypted with the AWS-managed key (no kmsKeyId))"

  Scenario: An unencrypted volume of any workload is warned about
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And its data is classified "internal"
    And it mounts the volume claim "plain"
    When it is admitted
    Then it is allowed
    And it is warned "encryption-volume-unencrypted: volume \"plain\" of pod set template is not encrypted at rest: StorageClass gp3-plain (ebs.csi.aws.com) does not set encrypted: \"true\""

  Scenario: A claim the cluster does not have is not taken for encrypted
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And its data is classified "confidential"
    And it mounts the volume claim "missing"
    When it is admitted
    Then it is denied with code "encryption-customer-key-required"
    And the denial says "PVC research/missing not found"

  Scenario Outline: Datasets of confidential data are encrypted at rest
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And its data is classified "confidential"
    And it reads the dataset "<dataset>"
    When it is admitted
    Then it is <outcome>

    Examples:
      | dataset                  | outcome                                              |
      | s3://corpus-us/v3/       | allowed                                              |
      | gs://public-bench/mmlu/  | denied with code "encryption-dataset-unencrypted"    |
      | s3://nobody-knows/x/     | denied with code "encryption-dataset-unencrypted"    |
