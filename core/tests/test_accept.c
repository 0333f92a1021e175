/* Tests of the metrics page's content negotiation: the Accept headers
 * Prometheus sends (with and without native histograms), q values, ties,
 * parameters that rule a range out, and OpenMetrics only when enabled. */
#include "accept.h"
#include "check.h"

/* What Prometheus 2.42 sends by default, and with native histograms on. */
#define PROM_DEFAULT                                                                               \
	"application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"   \
	"q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
#define PROM_NATIVE                                                                                \
	"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding="        \
	"delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/"                  \
	"openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

int main(void)
{
	CHECK_INT(elx_accept_format(NULL, 1), ELX_FORMAT_TEXT);
	CHECK_INT(elx_accept_format("", 1), ELX_FORMAT_TEXT);
	CHECK_INT(elx_accept_format("*/*", 1), ELX_FORMAT_TEXT);
	CHECK_INT(elx_accept_format("image/png", 1), ELX_FORMAT_TEXT);
	CHECK_INT(elx_accept_format(PROM_DEFAULT, 1), ELX_FORMAT_OPENMETRICS);
	CHECK_INT(elx_accept_format(PROM_DEFAULT, 0), ELX_FORMAT_TEXT);
	CHECK_INT(elx_accept_format(PROM_NATIVE, 1), ELX_FORMAT_PROTOBUF);
	CHECK_INT(elx_accept_format(PROM_NATIVE, 0), ELX_FORMAT_PROTOBUF);
	/* The highest q wins wherever it is; a tie goes to the first. */
	CHECK_INT(
	    elx_accept_format("text/plain;q=0.5, application/openmetrics-text; version=1.0.0", 1),
	    ELX_FORMAT_OPENMETRICS);
	CHECK_INT(elx_accept_format("text/plain, application/openmetrics-text", 1),
		  ELX_FORMAT_TEXT);
	CHECK_INT(elx_accept_format("application/openmetrics-text;q=0.9, text/plain;q=0.9", 1),
		  ELX_FORMAT_OPENMETRICS);
	/* Parameters that rule a range out: unknown versions, other protobuf
	 * messages or encodings, q=0. */
	CHECK_INT(elx_accept_format("application/openmetrics-text;version=2.0.0", 1),
		  ELX_FORMAT_TEXT);
	CHECK_INT(
	    elx_accept_format("text/plain;version=1.0.0,application/openmetrics-text;q=0.1", 1),
	    ELX_FORMAT_OPENMETRICS);
	CHECK_INT(elx_accept_format("application/vnd.google.protobuf;proto=io.prometheus.client."
				    "MetricFamily;encoding=text",
				    1),
		  ELX_FORMAT_TEXT);
	CHECK_INT(elx_accept_format("application/vnd.google.protobuf", 1), ELX_FORMAT_TEXT);
	CHECK_INT(elx_accept_format("application/openmetrics-text;q=0, text/plain;q=0.1", 1),
		  ELX_FORMAT_TEXT);
	/* Case and spaces as clients write them; quoted parameter values. */
	CHECK_INT(elx_accept_format(" Application/OpenMetrics-Text ; Version=\"1.0.0\" ; q=1", 1),
		  ELX_FORMAT_OPENMETRICS);
	CHECK_INT(elx_accept_format("application/vnd.google.protobuf; proto=\"io.prometheus.client."
				    "MetricFamily\"; encoding=delimited; q=0.7, text/plain; q=0.3",
				    1),
		  ELX_FORMAT_PROTOBUF);

	/* Accept-Encoding: an explicit gzip decides by its q, else "*" does. */
	CHECK_INT(elx_accept_gzip(NULL), 0);
	CHECK_INT(elx_accept_gzip(""), 0);
	CHECK_INT(elx_accept_gzip("gzip"), 1);
	CHECK_INT(elx_accept_gzip(" X-GZIP "), 1);
	CHECK_INT(elx_accept_gzip("br ; q=1.0 ,gzip ; q=0.001"), 1);
	CHECK_INT(elx_accept_gzip("*;q=0, gzip"), 1);
	CHECK_INT(elx_accept_gzip("gzip;q=0.5, *;q=0"), 1);
	CHECK_INT(elx_accept_gzip("gzip; Q=0.000, *"), 0);
	CHECK_INT(elx_accept_gzip("*"), 1);
	CHECK_INT(elx_accept_gzip("*;q=0"), 0);
	CHECK_INT(elx_accept_gzip("identity, gzipx, xgzip"), 0);
	/* A q that is no number is not a refusal. */
	CHECK_INT(elx_accept_gzip("gzip;q=high"), 1);
	return 0;
}
