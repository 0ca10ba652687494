// Reads SPARQL result files with Apache Jena's own result-set readers and writes each
// back as SPARQL JSON, so tests/test_other_engines.py compares Jena's reading with
// SPARQLWrapper's. One JVM for all files; run from source (Java 11+, no compiler step):
//
//   java -cp JENA_CLASSPATH tests/java/ReadResults.java json=a.srj xml=a.srx csv=a.csv ...
//
// For each argument FORMAT=FILE it prints "#file FILE" on a line of its own, then the
// results as SPARQL JSON. A file Jena cannot read ends the run with a non-zero status.
import java.io.FileInputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.apache.jena.query.ResultSet;
import org.apache.jena.riot.Lang;
import org.apache.jena.riot.ResultSetMgr;
import org.apache.jena.riot.resultset.ResultSetLang;

public class ReadResults {
    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        for (String arg : args) {
            int eq = arg.indexOf('=');
            String format = arg.substring(0, eq);
            String file = arg.substring(eq + 1);
            Lang lang = switch (format) {
                case "json" -> ResultSetLang.RS_JSON;
                case "xml" -> ResultSetLang.RS_XML;
                case "csv" -> ResultSetLang.RS_CSV;
                case "tsv" -> ResultSetLang.RS_TSV;
                default -> throw new IllegalArgumentException("unknown format " + format);
            };
            // The stream stays open while the (streaming) result set is written out.
            try (InputStream in = new FileInputStream(file)) {
                ResultSet results = ResultSetMgr.read(in, lang);
                out.println("#file " + file);
                ResultSetMgr.write(out, results, ResultSetLang.RS_JSON);
                out.println();
            }
        }
        out.flush();
    }
}
