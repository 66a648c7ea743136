package attnc.cli;

import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Options of {@code run}, {@code tune} and {@code plot} that decide a pattern's launch params and its random inputs. */
final class InputOptions {
    @Option(names = "--param", paramLabel = "NAME=VALUE", description = "Sets a param (repeatable).")
    Map<String, String> params = new LinkedHashMap<>();

    @Mixin
    RandomData random;
}
