package attnc.front;

import attnc.grammar.AttnLexer;
import attnc.grammar.AttnParser;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.antlr.v4.runtime.BaseErrorListener;
import org.antlr.v4.runtime.CharStreams;
import org.antlr.v4.runtime.CommonTokenStream;
import org.antlr.v4.runtime.Parser;
import org.antlr.v4.runtime.RecognitionException;
import org.antlr.v4.runtime.Recognizer;
import org.antlr.v4.runtime.Token;
import org.antlr.v4.runtime.Vocabulary;
import org.antlr.v4.runtime.misc.IntervalSet;

/** Text to parse tree, with syntax errors turned into diagnostics that say what was expected. */
final class SyntaxParser {
    private static final Set<String> EXPRESSION_STARTS =
            Set.of("'('", "'-'", "'!'", "'~'", "INT", "FLOAT", "'true'", "'false'", "NAME", "'int'", "'float'");

    /** Keywords that start a declaration or a section: an expected list naming them all reads as one phrase. */
    private static final List<String> DECLARATION_STARTS = List.of("'import'", "'param'", "'input'", "'let'", "'fn'");
    private static final List<String> SECTION_STARTS =
            List.of("'mask'", "'select'", "'score'", "'scale'", "'norm'", "'output'", "'tile'");

    private SyntaxParser() {}

    static AttnParser.FileContext parse(Source source, Diagnostics diagnostics) {
        AttnLexer lexer = new AttnLexer(CharStreams.fromString(source.text(), source.name()));
        lexer.removeErrorListeners();
        AttnParser parser = new AttnParser(new CommonTokenStream(lexer));
        parser.removeErrorListeners();
        parser.addErrorListener(new BaseErrorListener() {
            @Override
            public void syntaxError(Recognizer<?, ?> recognizer, Object offending, int line, int column,
                                    String antlrMessage, RecognitionException e) {
                Token token = (Token) offending;
                diagnostics.report(source, token, describe((Parser) recognizer, token, e, antlrMessage));
            }
        });
        return parser.file();
    }

    private static String describe(Parser parser, Token token, RecognitionException e, String antlrMessage) {
        String found = token.getType() == Token.EOF ? "end of file"
                : token.getType() == AttnLexer.ERROR_CHAR ? "character '" + token.getText() + "'"
                : token.getType() == AttnLexer.FILE_DOC ? "file doc comment '//!' (allowed only before everything else)"
                : "'" + token.getText() + "'";
        IntervalSet expected = e != null && e.getExpectedTokens() != null ? e.getExpectedTokens() : parser.getExpectedTokens();
        if (expected == null || expected.isNil()) {
            return "syntax error at " + found + " (" + antlrMessage + ")";
        }
        return "unexpected " + found + "; expected " + expectedText(expected, parser.getVocabulary());
    }

    private static String expectedText(IntervalSet expected, Vocabulary vocabulary) {
        Set<String> names = new LinkedHashSet<>();
        for (int type : expected.toArray()) names.add(vocabulary.getDisplayName(type));
        List<String> words = new ArrayList<>();
        if (names.contains("NAME") && names.contains("INT") && names.contains("'('")) {
            names.removeAll(EXPRESSION_STARTS);
            words.add("an expression");
        }
        if (names.containsAll(DECLARATION_STARTS)) {
            names.removeAll(DECLARATION_STARTS);
            words.add("a declaration (" + String.join(", ", DECLARATION_STARTS.stream().map(k -> k.replace("'", "")).toList()) + ")");
        }
        if (names.containsAll(SECTION_STARTS)) {
            names.removeAll(SECTION_STARTS);
            words.add("a section");
        }
        for (String name : names) {
            words.add(switch (name) {
                case "NAME" -> "a name";
                case "INT" -> "an integer";
                case "FLOAT" -> "a number";
                case "STRING" -> "a quoted path";
                case "EOF" -> "end of file";
                case "DOC" -> "a doc comment";
                case "FILE_DOC" -> "a file doc comment (//!)";
                case "ERROR_CHAR" -> "a valid character";
                default -> name;
            });
        }
        if (words.size() == 1) return words.getFirst();
        return String.join(", ", words.subList(0, words.size() - 1)) + " or " + words.getLast();
    }
}
