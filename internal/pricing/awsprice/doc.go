// Package awsprice prices AWS GPU instances for pricing.Refresh.
//
// On-demand prices come from the Price List bulk offer files, one per region
// (offers/v1.0/aws/AmazonEC2/<version>/<region>/index.json). They are
// hundreds of MB each, almost all of it non-GPU products and reserved terms,
// so DecodeOffers streams them token by token with encoding/json's Decoder
// and holds only the GPU products' attributes and their on-demand rates:
// memory stays bounded whatever the file's size (tested with a generated
// file of hundreds of MB). region_index.json gives each region's current
// version; a region whose version is the one recorded in the state file is
// not downloaded again and its offers are taken from the state file.
//
// Spot prices come from EC2 DescribeSpotPriceHistory (aws-sdk-go-v2), the
// median over a window of the Linux/UNIX price history, per availability
// zone and across the region. They need EC2 read credentials; the bulk files
// need none.
package awsprice
