import com.helger.diagnostics.error.IError;
import com.helger.diver.api.coord.DVRCoordinate;
import com.helger.io.resource.FileSystemResource;
import com.helger.phive.api.CPhiveVersion;
import com.helger.phive.api.execute.ValidationExecutionManager;
import com.helger.phive.api.executorset.IValidationExecutorSet;
import com.helger.phive.api.executorset.ValidationExecutorSetRegistry;
import com.helger.phive.api.result.ValidationResultList;
import com.helger.phive.api.validity.ValidityDeterminatorRegistry;
import com.helger.phive.en16931.EN16931Validation;
import com.helger.phive.peppol.PeppolValidationBisEurope;
import com.helger.phive.xml.source.IValidationSourceXML;
import com.helger.phive.xml.source.ValidationSourceXML;
import com.helger.phive.xrechnung.XRechnungValidation;
import java.io.BufferedReader;
import java.io.File;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Reads lines "VESID<TAB>absolute path" on stdin; prints one JSON line per file with every warning and error.
 * The first line printed names the validator and its versions.
 */
public final class Validate {
  public static void main(String[] args) throws Exception {
    // UTF-8 whatever the locale: under LANG=C Java would print the rules' German messages as "?".
    var out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
    var registry = new ValidationExecutorSetRegistry<IValidationSourceXML>();
    EN16931Validation.initEN16931(registry);
    PeppolValidationBisEurope.init(registry);
    XRechnungValidation.initXRechnung(registry);
    out.println("{\"validator\":\"phive\",\"phive\":" + str(CPhiveVersion.BUILD_VERSION)
        + ",\"rules\":{\"en16931\":" + str(version(EN16931Validation.class))
        + ",\"peppol\":" + str(version(PeppolValidationBisEurope.class))
        + ",\"xrechnung\":" + str(version(XRechnungValidation.class)) + "}}");
    var in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line; (line = in.readLine()) != null; ) {
      if (line.isBlank()) continue;
      String[] parts = line.split("\t", 2);
      out.println(validate(registry, parts[0], parts.length > 1 ? parts[1] : ""));
    }
  }

  static String validate(ValidationExecutorSetRegistry<IValidationSourceXML> registry, String vesid, String path) {
    String head = "{\"file\":" + str(path) + ",\"vesid\":" + str(vesid);
    DVRCoordinate id = DVRCoordinate.parseOrNull(vesid);
    IValidationExecutorSet<IValidationSourceXML> ves = id == null ? null : registry.getOfID(id);
    if (ves == null) return head + ",\"fatal\":\"unknown VESID\"}";
    if (!new File(path).isFile()) return head + ",\"fatal\":\"no such file\"}";
    ValidationResultList results = ValidationExecutionManager.executeValidation(
        (executor, errors) -> ValidityDeterminatorRegistry.getValidityOneErrorInvalid(errors), ves,
        ValidationSourceXML.create(new FileSystemResource(path)), Locale.US);
    List<String> errors = new ArrayList<>();
    List<String> warnings = new ArrayList<>();
    for (var result : results) {
      // A schema (XSD) error has no rule id: it is named by the kind of check that found it.
      String check = result.getValidationArtefact().getValidationType().getID();
      for (IError e : result.getErrorList()) {
        if (e.getErrorLevel().isError()) errors.add(finding(e, check));
        else if (e.getErrorLevel().isFailure()) warnings.add(finding(e, check));
      }
    }
    return head + ",\"name\":" + str(ves.getDisplayName()) + ",\"version\":"
        + str(ves.getID().getVersionObj().getAsString()) + ",\"errors\":" + errors + ",\"warnings\":" + warnings + "}";
  }

  static String finding(IError e, String check) {
    String location = e.getErrorFieldName() != null ? e.getErrorFieldName()
        : e.hasErrorLocation() ? e.getErrorLocation().getAsString() : "";
    return "{\"rule\":" + str(e.getErrorID() != null ? e.getErrorID() : check) + ",\"message\":" + str(e.getErrorText(Locale.US))
        + ",\"location\":" + str(location) + "}";
  }

  static String version(Class<?> rules) {
    return rules.getPackage().getImplementationVersion();
  }

  static String str(String s) {
    if (s == null) return "null";
    var out = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') out.append('\\').append(c);
      else if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
      else out.append(c);
    }
    return out.append('"').toString();
  }
}
