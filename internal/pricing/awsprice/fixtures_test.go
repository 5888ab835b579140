package awsprice

import (
	"fmt"
	"strings"
)

// Canned payloads in the real shapes of the Price List bulk API, written for
// these tests.

// regionIndexJSON is region_index.json naming each region's version.
func regionIndexJSON(versions map[string]string) string {
	var b strings.Builder
	b.WriteString(`{
  "formatVersion" : "v1.0",
  "disclaimer" : "This pricing list is for informational purposes only.",
  "publicationDate" : "2026-11-20T18:02:29Z",
  "regions" : {`)
	first := true
	for region, v := range versions {
		if !first {
			b.WriteString(",")
		}
		first = false
		fmt.Fprintf(&b, `
    "%s" : {
      "regionCode" : "%s",
      "currentVersionUrl" : "/offers/v1.0/aws/AmazonEC2/%s/%s/index.json",
      "currentSnapshotUrl" : "/offers/v1.0/aws/AmazonEC2/%s/%s/index.json"
    }`, region, region, v, region, v, region)
	}
	b.WriteString("\n  }\n}\n")
	return b.String()
}

// productJSON is one product entry.
func productJSON(sku, instanceType, gpu, gpuMemory, vcpu, memory, os, tenancy, preSw, capacity, locationType, region string) string {
	return fmt.Sprintf(`    "%s" : {
      "sku" : "%s",
      "productFamily" : "Compute Instance",
      "attributes" : {
        "servicecode" : "AmazonEC2",
        "location" : "US East (N. Virginia)",
        "locationType" : "%s",
        "instanceType" : "%s",
        "currentGeneration" : "Yes",
        "instanceFamily" : "GPU instance",
        "vcpu" : "%s",
        "physicalProcessor" : "AMD EPYC 7R13 Processor",
        "memory" : "%s",
        "storage" : "8 x 3840 NVMe SSD",
        "networkPerformance" : "3200 Gigabit",
        "tenancy" : "%s",
        "operatingSystem" : "%s",
        "licenseModel" : "No License required",
        "usagetype" : "BoxUsage:%s",
        "operation" : "RunInstances",
        "availabilityzone" : "NA",
        "capacitystatus" : "%s",
        "gpu" : "%s",
        "gpuMemory" : "%s",
        "marketoption" : "OnDemand",
        "normalizationSizeFactor" : "NA",
        "preInstalledSw" : "%s",
        "regionCode" : "%s",
        "servicename" : "Amazon Elastic Compute Cloud"
      }
    }`, sku, sku, locationType, instanceType, vcpu, memory, tenancy, os, instanceType, capacity, gpu, gpuMemory, preSw, region)
}

// onDemandJSON is one SKU's on-demand terms.
func onDemandJSON(sku, usd string) string {
	return fmt.Sprintf(`      "%s" : {
        "%s.JRTCKXETXF" : {
          "offerTermCode" : "JRTCKXETXF",
          "sku" : "%s",
          "effectiveDate" : "2026-11-01T00:00:00Z",
          "priceDimensions" : {
            "%s.JRTCKXETXF.6YS6EN2CT7" : {
              "rateCode" : "%s.JRTCKXETXF.6YS6EN2CT7",
              "description" : "$%s per On Demand Linux instance hour",
              "beginRange" : "0",
              "endRange" : "Inf",
              "unit" : "Hrs",
              "pricePerUnit" : { "USD" : "%s" },
              "appliesTo" : [ ]
            }
          },
          "termAttributes" : { }
        }
      }`, sku, sku, sku, sku, sku, usd, usd)
}

// reservedJSON is one SKU's reserved terms, which the decoder must skip.
func reservedJSON(sku string) string {
	return fmt.Sprintf(`      "%s" : {
        "%s.4NA7Y494T4" : {
          "offerTermCode" : "4NA7Y494T4",
          "sku" : "%s",
          "effectiveDate" : "2026-11-01T00:00:00Z",
          "priceDimensions" : {
            "%s.4NA7Y494T4.6YS6EN2CT7" : {
              "rateCode" : "%s.4NA7Y494T4.6YS6EN2CT7",
              "description" : "Linux/UNIX (Amazon VPC), p5.48xlarge reserved instance applied",
              "beginRange" : "0", "endRange" : "Inf", "unit" : "Hrs",
              "pricePerUnit" : { "USD" : "1.0000000000" },
              "appliesTo" : [ ]
            }
          },
          "termAttributes" : { "LeaseContractLength" : "1yr", "OfferingClass" : "standard", "PurchaseOption" : "No Upfront" }
        }
      }`, sku, sku, sku, sku, sku)
}

// offerFileJSON is a small region offer file: GPU products that must be
// kept and the look-alikes the filter must drop.
func offerFileJSON(region, version string, p5Price string) string {
	type p struct{ sku, product, usd string }
	ps := []p{
		{"P5LINUX", productJSON("P5LINUX", "p5.48xlarge", "8", "640 GB", "192", "2,048 GiB", "Linux", "Shared", "NA", "Used", "AWS Region", region), p5Price},
		{"P5WIN", productJSON("P5WIN", "p5.48xlarge", "8", "640 GB", "192", "2,048 GiB", "Windows", "Shared", "NA", "Used", "AWS Region", region), "99.0000000000"},
		{"P5DED", productJSON("P5DED", "p5.48xlarge", "8", "640 GB", "192", "2,048 GiB", "Linux", "Dedicated", "NA", "Used", "AWS Region", region), "60.0000000000"},
		{"P5SQL", productJSON("P5SQL", "p5.48xlarge", "8", "640 GB", "192", "2,048 GiB", "Linux", "Shared", "SQL Web", "Used", "AWS Region", region), "61.0000000000"},
		{"P5RES", productJSON("P5RES", "p5.48xlarge", "8", "640 GB", "192", "2,048 GiB", "Linux", "Shared", "NA", "UnusedCapacityReservation", "AWS Region", region), "62.0000000000"},
		{"P5LZ", productJSON("P5LZ", "p5.48xlarge", "8", "640 GB", "192", "2,048 GiB", "Linux", "Shared", "NA", "Used", "AWS Local Zone", region), "63.0000000000"},
		{"G6XL", productJSON("G6XL", "g6.xlarge", "1", "24 GB", "4", "16 GiB", "Linux", "Shared", "NA", "Used", "AWS Region", region), "0.8048000000"},
		// Not in the embedded catalog: the file carries its shape.
		{"G62XL", productJSON("G62XL", "g6.2xlarge", "1", "24 GB", "8", "32 GiB", "Linux", "Shared", "NA", "Used", "AWS Region", region), "0.9776000000"},
		{"G6F", productJSON("G6F", "g6f.large", "0.125", "3 GB", "2", "8 GiB", "Linux", "Shared", "NA", "Used", "AWS Region", region), "0.2000000000"},
		{"G5G", productJSON("G5G", "g5g.xlarge", "1", "16 GB", "4", "8 GiB", "Linux", "Shared", "NA", "Used", "AWS Region", region), "0.4200000000"},
		{"M5", productJSON("M5", "m5.large", "NA", "NA", "2", "8 GiB", "Linux", "Shared", "NA", "Used", "AWS Region", region), "0.0960000000"},
	}
	var b strings.Builder
	fmt.Fprintf(&b, `{
  "formatVersion" : "v1.0",
  "disclaimer" : "This pricing list is for informational purposes only.",
  "offerCode" : "AmazonEC2",
  "version" : "%s",
  "publicationDate" : "2026-11-20T18:02:29Z",
  "products" : {
`, version)
	for i, x := range ps {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.WriteString(x.product)
	}
	b.WriteString("\n  },\n  \"terms\" : {\n    \"OnDemand\" : {\n")
	for i, x := range ps {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.WriteString(onDemandJSON(x.sku, x.usd))
	}
	b.WriteString("\n    },\n    \"Reserved\" : {\n")
	for i, x := range ps {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.WriteString(reservedJSON(x.sku))
	}
	b.WriteString("\n    }\n  },\n  \"attributesList\" : { }\n}\n")
	return b.String()
}

// spotPage is one DescribeSpotPriceHistory reply (EC2 Query protocol XML).
type spotItem struct{ instanceType, az, price, ts string }

func spotPageXML(items []spotItem, next string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<DescribeSpotPriceHistoryResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
    <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>
    <spotPriceHistorySet>
`)
	for _, it := range items {
		fmt.Fprintf(&b, `        <item>
            <instanceType>%s</instanceType>
            <productDescription>Linux/UNIX</productDescription>
            <spotPrice>%s</spotPrice>
            <timestamp>%s</timestamp>
            <availabilityZone>%s</availabilityZone>
        </item>
`, it.instanceType, it.price, it.ts, it.az)
	}
	b.WriteString("    </spotPriceHistorySet>\n")
	fmt.Fprintf(&b, "    <nextToken>%s</nextToken>\n</DescribeSpotPriceHistoryResponse>\n", next)
	return b.String()
}
