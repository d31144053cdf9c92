// VelocityOracle: the reference side of nodectl's Velocity differential test (tests/it/vtl_oracle.rs).
//
// It renders templates with the real Apache Velocity engine, as packaged by Debian (velocity 1.7 with
// velocity-tools 2.0 and jackson-databind 2.x; see tests/oracle/build.sh), so that the test can compare
// nodectl's own engine (src/vtl) against it.
//
//   usage:  java -cp <classes>:<jars> VelocityOracle CASES.json
//   input:  [{"id": "...", "template": "...", "vars": {"input": {...}}}, ...]
//   output: {"<id>": "<rendered text>" | {"error": "<message>"}, ...} on stdout, UTF-8
//
// The engine runs with its defaults apart from logging (silenced). What the test relies on:
//   - every top-level entry of "vars" becomes a context variable; JSON is read with Jackson's untyped
//     mapping (objects -> LinkedHashMap in document order, arrays -> ArrayList, whole numbers -> Integer,
//     or Long/BigInteger when they do not fit, other numbers -> Double, true/false -> Boolean);
//   - $esc is velocity-tools' EscapeTool and $math its MathTool; no Genesys-only helpers are present;
//   - templates render like request templates: no strict reference mode.
// This is Velocity 1.7, while nodectl follows Velocity 2.1+ (as Genesys does). The known, intended
// differences, which the test's template generator avoids:
//   - #if on an empty string, list or map, or on numeric zero: false in 2.x (its empty check), true here;
//   - whitespace: some indented or mid-line directive layouts gobble differently (1.7's "bc" mode
//     against 2.1's "lines"), and 1.7 eats the spaces before a #set;
//   - success templates run with strict references in nodectl (an unset variable is an error), as in
//     Genesys; here every template renders without strict mode;
//   - 2.x-only syntax, and identifiers: 1.7 allows hyphens in them, 2.x does not by default;
//   - the Genesys-only helpers ($esc.jsonString, $esc.jsonEncode, $esc.jsonDecode, $esc.uriEncode,
//     $encoding, $successTemplateUtils, $urlTool, $salesforce, input.rawRequest) do not exist here;
//   - velocity-tools 2.0's variadic MathTool methods (add, sub, mul, div, max, min) type their
//     result by its value only (3.x also looks at the inputs), and its max() starts from
//     Double.MIN_VALUE; pow, idiv, roundTo, toDouble and the other fixed-arity methods agree;
//   - 1.7 does not convert a number argument to a String parameter (2.x does: "a".concat(5)).
//     $math.random is left out: its result is random.
// Everything else (references, quiet and formal notation, escaping, directives, expressions, $foreach,
// Java's rendering of numbers, lists and maps, $esc, $math) should agree; a disagreement is a bug in one
// of the two engines, usually nodectl's.
// A template that fails to parse or render yields {"error": ...} for its id; the others still render.

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.StringWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.velocity.VelocityContext;
import org.apache.velocity.app.VelocityEngine;
import org.apache.velocity.tools.generic.EscapeTool;
import org.apache.velocity.tools.generic.MathTool;

public final class VelocityOracle {
    private VelocityOracle() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: VelocityOracle CASES.json");
            System.exit(2);
        }
        ObjectMapper json = new ObjectMapper();
        List<Map<String, Object>> cases =
                json.readValue(new File(args[0]), new TypeReference<List<Map<String, Object>>>() {});

        VelocityEngine engine = new VelocityEngine();
        engine.setProperty("runtime.log.logsystem.class", "org.apache.velocity.runtime.log.NullLogChute");
        engine.init();

        Map<String, Object> results = new LinkedHashMap<>();
        for (Map<String, Object> c : cases) {
            String id = String.valueOf(c.get("id"));
            results.put(id, render(engine, id, (String) c.get("template"), vars(c)));
        }
        // UTF-8 bytes whatever the platform's default charset (the locale) is.
        System.out.write(json.writerWithDefaultPrettyPrinter().writeValueAsBytes(results));
        System.out.write('\n');
        System.out.flush();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> vars(Map<String, Object> c) {
        Object vars = c.get("vars");
        return vars instanceof Map ? (Map<String, Object>) vars : Map.of();
    }

    /** The rendered text, or {"error": message} when Velocity rejects or fails the template. */
    private static Object render(VelocityEngine engine, String id, String template, Map<String, Object> vars) {
        VelocityContext context = new VelocityContext();
        context.put("esc", new EscapeTool());
        context.put("math", new MathTool());
        for (Map.Entry<String, Object> e : vars.entrySet()) {
            context.put(e.getKey(), e.getValue());
        }
        StringWriter out = new StringWriter();
        try {
            engine.evaluate(context, out, id, template);
            return out.toString();
        } catch (Exception | StackOverflowError e) {
            Map<String, Object> error = new LinkedHashMap<>();
            error.put("error", e.getClass().getSimpleName() + ": " + e.getMessage());
            return error;
        }
    }
}
