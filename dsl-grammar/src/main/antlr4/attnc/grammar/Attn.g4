// The .attn language: one file describes one attention pattern (or, with no sections, a
// library of definitions that patterns import). Newlines carry no meaning: every declaration
// and section starts with a keyword, so an expression ends where the next keyword begins.
grammar Attn;


file      : fileDoc=FILE_DOC* item* EOF ;

item      : DOC* (importDecl | paramDecl | inputDecl | letDecl | fnDecl | section) ;

importDecl: 'import' STRING ;
paramDecl : 'param' NAME ':' scalarType ('=' expr)? ;
// bool is a keyword (a param type) and also a dtype.
inputDecl : 'input' NAME ':' dtype=(NAME | 'bool') '[' expr (',' expr)* ']' ;
letDecl   : 'let' NAME '=' expr ;
fnDecl    : 'fn' NAME '(' (fnParam (',' fnParam)*)? ')' '=' expr ;
fnParam   : NAME ':' scalarType ;
scalarType: 'int' | 'float' | 'bool' ;

section
  : 'mask' ':' expr                                         # maskSection
  | 'select' ':' expr                                       # selectSection
  | 'score' ':' expr                                        # scoreSection
  | 'scale' ':' expr                                        # scaleSection
  | 'norm' ':' NAME ('(' NAME '=' expr ')')?                # normSection
  | 'output' ':' expr                                       # outputSection
  | 'tile' ':' NAME '=' INT (',' NAME '=' INT)*             # tileSection
  ;

// Precedence follows Go: bit operations bind like * and +, tighter than comparisons,
// so `q & 1 == 0` means `(q & 1) == 0`.
expr
  : '(' 'let' NAME '=' expr ';' letBody ')'                 # letExpr
  | '(' expr ')'                                            # parens
  // int and float are keywords (param types) and also the conversion functions.
  | callee=(NAME | 'int' | 'float') '(' (expr (',' expr)*)? ')'  # call
  | NAME '[' expr (',' expr)* ']'                           # load
  | INT                                                     # intLit
  | FLOAT                                                   # floatLit
  | ('true' | 'false')                                      # boolLit
  | NAME                                                    # name
  | op=('-' | '!' | '~') expr                               # unary
  | expr op=('*' | '/' | '%' | '<<' | '>>' | '&') expr      # mulLevel
  | expr op=('+' | '-' | '|' | '^') expr                    # addLevel
  | expr op=('<' | '<=' | '>' | '>=') expr                  # compare
  | expr op=('==' | '!=') expr                              # equality
  | expr 'in' NAME '[' (expr (',' expr)*)? ']'                 # member
  | expr '&&' expr                                          # and
  | expr '||' expr                                          # or
  | <assoc=right> expr '?' expr ':' expr                    # conditional
  ;

letBody   : 'let' NAME '=' expr ';' letBody | expr ;

FILE_DOC  : '//!' ~[\r\n]* ;
DOC       : '///' ~[\r\n]* ;
COMMENT   : ('//' | '#') ~[\r\n]* -> skip ;
WS        : [ \t\r\n]+ -> skip ;
INT       : [0-9]+ ;
FLOAT     : [0-9]+ '.' [0-9]* EXPONENT? | '.' [0-9]+ EXPONENT? | [0-9]+ EXPONENT ;
fragment EXPONENT : [eE] [+-]? [0-9]+ ;
STRING    : '"' ~["\r\n]* '"' ;
NAME      : [a-zA-Z_] [a-zA-Z_0-9]* ;
ERROR_CHAR: . ;
