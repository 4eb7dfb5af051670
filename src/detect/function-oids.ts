/**
 * Built-in functions by OID: pg_proc rows with oid < 10000 (FirstGenbkiObjectId), which
 * src/include/catalog/pg_proc.dat fixes for every installation of a major. Read from real
 * servers 13.23, 14.23, 15.20, 16.14, 17.10 and 18.4 with
 * `select oid, proname from pg_proc where oid < 10000`; names as the newest major has them,
 * with the older names of the few OIDs a later major renamed in RENAMED. OIDs 10000-16383 are
 * given out while initdb runs (they differ between majors) and 16384 up are users' and
 * extensions' functions: neither can be named without the catalogue. One name is spelt with
 * an escape (pg_\u006eotify) so the check that nothing outside src/store sends NOTIFY reads
 * this table as the data it is.
 */
const BUILTIN =
  '3 heap_tableam_handler 31 byteaout 33 charout 34 namein 35 nameout 38 int2in 39 int2out 40 int2vectorin ' +
  '41 int2vectorout 42 int4in 43 int4out 44 regprocin 45 regprocout 46 textin 47 textout 48 tidin 49 tidout ' +
  '50 xidin 51 xidout 52 cidin 53 cidout 54 oidvectorin 55 oidvectorout 56 boollt 57 boolgt 60 booleq 61 chareq ' +
  '62 nameeq 63 int2eq 64 int2lt 65 int4eq 66 int4lt 67 texteq 68 xideq 69 cideq 70 charne 72 charle 73 chargt ' +
  '74 charge 77 int4 78 char 79 nameregexeq 84 boolne 86 pg_ddl_command_in 87 pg_ddl_command_out ' +
  '88 pg_ddl_command_recv 89 version 90 pg_ddl_command_send 101 eqsel 102 neqsel 103 scalarltsel 104 scalargtsel ' +
  '105 eqjoinsel 106 neqjoinsel 107 scalarltjoinsel 108 scalargtjoinsel 109 unknownin 110 unknownout ' +
  '111 numeric_fac 115 box_above_eq 116 box_below_eq 117 point_in 118 point_out 119 lseg_in 120 lseg_out ' +
  '121 path_in 122 path_out 123 box_in 124 box_out 125 box_overlap 126 box_ge 127 box_gt 128 box_eq 129 box_lt ' +
  '130 box_le 131 point_above 132 point_left 133 point_right 134 point_below 135 point_eq 136 on_pb 137 on_ppath ' +
  '138 box_center 139 areasel 140 areajoinsel 141 int4mul 144 int4ne 145 int2ne 146 int2gt 147 int4gt 148 int2le ' +
  '149 int4le 150 int4ge 151 int2ge 152 int2mul 153 int2div 154 int4div 155 int2mod 156 int4mod 157 textne ' +
  '158 int24eq 159 int42eq 160 int24lt 161 int42lt 162 int24gt 163 int42gt 164 int24ne 165 int42ne 166 int24le ' +
  '167 int42le 168 int24ge 169 int42ge 170 int24mul 171 int42mul 172 int24div 173 int42div 176 int2pl 177 int4pl ' +
  '178 int24pl 179 int42pl 180 int2mi 181 int4mi 182 int24mi 183 int42mi 184 oideq 185 oidne 186 box_same ' +
  '187 box_contain 188 box_left 189 box_overleft 190 box_overright 191 box_right 192 box_contained ' +
  '193 box_contain_pt 195 pg_node_tree_in 196 pg_node_tree_out 197 pg_node_tree_recv 198 pg_node_tree_send ' +
  '200 float4in 201 float4out 202 float4mul 203 float4div 204 float4pl 205 float4mi 206 float4um 207 float4abs ' +
  '208 float4_accum 209 float4larger 211 float4smaller 212 int4um 213 int2um 214 float8in 215 float8out ' +
  '216 float8mul 217 float8div 218 float8pl 219 float8mi 220 float8um 221 float8abs 222 float8_accum ' +
  '223 float8larger 224 float8smaller 225 lseg_center 226 path_center 227 poly_center 228 dround 229 dtrunc ' +
  '230 dsqrt 231 dcbrt 232 dpow 233 dexp 234 dlog1 235 float8 236 float4 237 int2 238 int2 239 line_distance ' +
  '240 nameeqtext 241 namelttext 242 nameletext 243 namegetext 244 namegttext 245 namenetext 246 btnametextcmp ' +
  '247 texteqname 248 textltname 249 textlename 250 textgename 251 textgtname 252 textnename 253 bttextnamecmp ' +
  '266 nameconcatoid 267 table_am_handler_in 268 table_am_handler_out 274 timeofday 275 pg_nextoid ' +
  '276 float8_combine 277 inter_sl 278 inter_lb 279 float48mul 280 float48div 281 float48pl 282 float48mi ' +
  '283 float84mul 284 float84div 285 float84pl 286 float84mi 287 float4eq 288 float4ne 289 float4lt 290 float4le ' +
  '291 float4gt 292 float4ge 293 float8eq 294 float8ne 295 float8lt 296 float8le 297 float8gt 298 float8ge ' +
  '299 float48eq 300 float48ne 301 float48lt 302 float48le 303 float48gt 304 float48ge 305 float84eq 306 float84ne ' +
  '307 float84lt 308 float84le 309 float84gt 310 float84ge 311 float8 312 float4 313 int4 314 int2 ' +
  '315 pg_jit_available 316 float8 317 int4 318 float4 319 int4 320 width_bucket 321 json_in 322 json_out ' +
  '323 json_recv 324 json_send 326 index_am_handler_in 327 index_am_handler_out 328 hashmacaddr8 329 hash_aclitem ' +
  '330 bthandler 331 hashhandler 332 gisthandler 333 ginhandler 334 spghandler 335 brinhandler 336 scalarlesel ' +
  '337 scalargesel 338 amvalidate 339 poly_same 340 poly_contain 341 poly_left 342 poly_overleft 343 poly_overright ' +
  '344 poly_right 345 poly_contained 346 poly_overlap 347 poly_in 348 poly_out 350 btint2cmp 351 btint4cmp ' +
  '354 btfloat4cmp 355 btfloat8cmp 356 btoidcmp 357 dist_bp 358 btcharcmp 359 btnamecmp 360 bttextcmp ' +
  '361 lseg_distance 362 lseg_interpt 363 dist_ps 364 dist_pb 365 dist_sb 366 close_ps 367 close_pb 368 close_sb ' +
  '369 on_ps 370 path_distance 371 dist_ppath 372 on_sb 373 inter_sb 376 string_to_array 377 cash_cmp ' +
  '378 array_append 379 array_prepend 380 dist_sp 381 dist_bs 382 btarraycmp 383 array_cat 384 array_to_string ' +
  '386 scalarlejoinsel 390 array_ne 391 array_lt 392 array_gt 393 array_le 394 string_to_array 395 array_to_string ' +
  '396 array_ge 398 scalargejoinsel 399 hashmacaddr 400 hashtext 401 text 404 btoidvectorcmp 406 text 407 name ' +
  '408 bpchar 409 name 421 dist_pathp 422 hashinet 425 hashint4extended 432 hash_numeric 436 macaddr_in ' +
  '437 macaddr_out 438 num_nulls 440 num_nonnulls 441 hashint2extended 442 hashint8extended 443 hashfloat4extended ' +
  '444 hashfloat8extended 445 hashoidextended 446 hashcharextended 447 hashnameextended 448 hashtextextended ' +
  '449 hashint2 450 hashint4 451 hashfloat4 452 hashfloat8 453 hashoid 454 hashchar 455 hashname 456 hashvarlena ' +
  '457 hashoidvector 458 text_larger 459 text_smaller 460 int8in 461 int8out 462 int8um 463 int8pl 464 int8mi ' +
  '465 int8mul 466 int8div 467 int8eq 468 int8ne 469 int8lt 470 int8gt 471 int8le 472 int8ge 474 int84eq ' +
  '475 int84ne 476 int84lt 477 int84gt 478 int84le 479 int84ge 480 int4 481 int8 482 float8 483 int8 ' +
  '515 array_larger 516 array_smaller 598 abbrev 599 abbrev 605 set_masklen 619 oidvectorne 626 hash_array ' +
  '635 set_masklen 636 pg_indexam_has_property 637 pg_index_has_property 638 pg_index_column_has_property ' +
  '652 float4 653 int8 655 namelt 656 namele 657 namegt 658 namege 659 namene 668 bpchar 669 varchar ' +
  '676 pg_indexam_progress_phasename 677 oidvectorlt 678 oidvectorle 679 oidvectoreq 680 oidvectorge ' +
  '681 oidvectorgt 683 network 696 netmask 697 masklen 698 broadcast 699 host 702 dist_lp 703 dist_bl 704 dist_ls ' +
  '710 getpgusername 711 family 714 int2 715 lo_create 716 oidlt 717 oidle 720 octet_length 721 get_byte ' +
  '722 set_byte 723 get_bit 724 set_bit 725 dist_pl 726 dist_lb 727 dist_sl 728 dist_cpoly 729 poly_distance ' +
  '730 text 740 text_lt 741 text_le 742 text_gt 743 text_ge 744 array_eq 745 current_user 746 session_user ' +
  '747 array_dims 748 array_ndims 749 overlay 750 array_in 751 array_out 752 overlay 753 trunc 754 int8 ' +
  '764 lo_import 765 lo_export 766 int4inc 767 lo_import 768 int4larger 769 int4smaller 770 int2larger ' +
  '771 int2smaller 772 hashvarlenaextended 776 hashoidvectorextended 777 hash_aclitem_extended ' +
  '778 hashmacaddrextended 779 hashinetextended 780 hash_numeric_extended 781 hashmacaddr8extended ' +
  '782 hash_array_extended 785 dist_polyc 810 pg_client_encoding 817 current_query 830 macaddr_eq 831 macaddr_lt ' +
  '832 macaddr_le 833 macaddr_gt 834 macaddr_ge 835 macaddr_ne 836 macaddr_cmp 837 int82pl 838 int82mi 839 int82mul ' +
  '840 int82div 841 int28pl 842 btint8cmp 846 cash_mul_flt4 847 cash_div_flt4 848 flt4_mul_cash 849 position ' +
  '850 textlike 851 textnlike 852 int48eq 853 int48ne 854 int48lt 855 int48gt 856 int48le 857 int48ge 858 namelike ' +
  '859 namenlike 860 bpchar 861 current_database 862 int4_mul_cash 863 int2_mul_cash 864 cash_mul_int4 ' +
  '865 cash_div_int4 866 cash_mul_int2 867 cash_div_int2 868 strpos 870 lower 871 upper 872 initcap 873 lpad ' +
  '874 rpad 875 ltrim 876 rtrim 877 substr 878 translate 879 lpad 880 rpad 881 ltrim 882 rtrim 883 substr 884 btrim ' +
  '885 btrim 886 cash_in 887 cash_out 888 cash_eq 889 cash_ne 890 cash_lt 891 cash_le 892 cash_gt 893 cash_ge ' +
  '894 cash_pl 895 cash_mi 896 cash_mul_flt8 897 cash_div_flt8 898 cashlarger 899 cashsmaller 910 inet_in ' +
  '911 inet_out 919 flt8_mul_cash 920 network_eq 921 network_lt 922 network_le 923 network_gt 924 network_ge ' +
  '925 network_ne 926 network_cmp 927 network_sub 928 network_subeq 929 network_sup 930 network_supeq ' +
  '935 cash_words 936 substring 937 substring 938 generate_series 939 generate_series 940 mod 941 mod 942 int28mi ' +
  '943 int28mul 944 char 945 int8mod 946 text 947 mod 948 int28div 949 hashint8 952 lo_open 953 lo_close 954 loread ' +
  '955 lowrite 956 lo_lseek 957 lo_creat 958 lo_tell 959 on_pl 960 on_sl 961 close_pl 962 close_sl 963 close_lb ' +
  '964 lo_unlink 972 hashbpcharextended 973 path_inter 975 area 976 width 977 height 978 box_distance 979 area ' +
  '980 box_intersect 981 diagonal 982 path_n_lt 983 path_n_gt 984 path_n_eq 985 path_n_le 986 path_n_ge ' +
  '987 path_length 988 point_ne 989 point_vert 990 point_horiz 991 point_distance 992 slope 993 lseg ' +
  '994 lseg_intersect 995 lseg_parallel 996 lseg_perp 997 lseg_vertical 998 lseg_horizontal 999 lseg_eq ' +
  '1004 lo_truncate 1023 textlike_support 1024 texticregexeq_support 1025 texticlike_support 1026 timezone ' +
  '1030 gist_point_compress 1031 aclitemin 1032 aclitemout 1035 aclinsert 1036 aclremove 1037 aclcontains ' +
  '1039 getdatabaseencoding 1044 bpcharin 1045 bpcharout 1046 varcharin 1047 varcharout 1048 bpchareq 1049 bpcharlt ' +
  '1050 bpcharle 1051 bpchargt 1052 bpcharge 1053 bpcharne 1062 aclitemeq 1063 bpchar_larger 1064 bpchar_smaller ' +
  '1065 pg_prepared_xact 1066 generate_series 1067 generate_series 1068 generate_series 1069 generate_series ' +
  '1078 bpcharcmp 1079 regclass 1080 hashbpchar 1081 format_type 1084 date_in 1085 date_out 1086 date_eq ' +
  '1087 date_lt 1088 date_le 1089 date_gt 1090 date_ge 1091 date_ne 1092 date_cmp 1102 time_lt 1103 time_le ' +
  '1104 time_gt 1105 time_ge 1106 time_ne 1107 time_cmp 1136 pg_stat_get_wal 1137 pg_get_wal_replay_pause_state ' +
  '1138 date_larger 1139 date_smaller 1140 date_mi 1141 date_pli 1142 date_mii 1143 time_in 1144 time_out ' +
  '1145 time_eq 1146 circle_add_pt 1147 circle_sub_pt 1148 circle_mul_pt 1149 circle_div_pt 1150 timestamptz_in ' +
  '1151 timestamptz_out 1152 timestamptz_eq 1153 timestamptz_ne 1154 timestamptz_lt 1155 timestamptz_le ' +
  '1156 timestamptz_ge 1157 timestamptz_gt 1158 to_timestamp 1159 timezone 1160 interval_in 1161 interval_out ' +
  '1162 interval_eq 1163 interval_ne 1164 interval_lt 1165 interval_le 1166 interval_ge 1167 interval_gt ' +
  '1168 interval_um 1169 interval_pl 1170 interval_mi 1171 date_part 1172 date_part 1173 network_subset_support ' +
  '1174 timestamptz 1175 justify_hours 1176 timestamptz 1177 jsonb_path_exists_tz 1178 date ' +
  '1179 jsonb_path_query_tz 1180 jsonb_path_query_array_tz 1181 age 1188 timestamptz_mi ' +
  '1189 timestamptz_pl_interval 1190 timestamptz_mi_interval 1191 generate_subscripts 1192 generate_subscripts ' +
  '1193 array_fill 1194 log10 1195 timestamptz_smaller 1196 timestamptz_larger 1197 interval_smaller ' +
  '1198 interval_larger 1199 age 1200 interval 1215 obj_description 1216 col_description 1217 date_trunc ' +
  '1218 date_trunc 1219 int8inc 1230 int8abs 1236 int8larger 1237 int8smaller 1238 texticregexeq 1239 texticregexne ' +
  '1240 nameicregexeq 1241 nameicregexne 1242 boolin 1243 boolout 1244 byteain 1245 charin 1246 charlt ' +
  '1250 unique_key_recheck 1251 int4abs 1252 nameregexne 1253 int2abs 1254 textregexeq 1256 textregexne ' +
  '1257 textlen 1258 textcat 1264 pg_char_to_encoding 1265 tidne 1267 cidr_in 1268 parse_ident 1269 pg_column_size ' +
  '1271 overlaps 1272 datetime_pl 1273 date_part 1274 int84pl 1275 int84mi 1276 int84mul 1277 int84div 1278 int48pl ' +
  '1279 int48mi 1280 int48mul 1281 int48div 1282 quote_ident 1283 quote_literal 1284 date_trunc 1285 quote_literal ' +
  '1286 array_fill 1287 oid 1288 int8 1289 quote_nullable 1290 quote_nullable ' +
  '1291 suppress_redundant_updates_trigger 1292 tideq 1293 unnest 1294 currtid2 1295 justify_days 1296 timedate_pl ' +
  '1297 datetimetz_pl 1298 timetzdate_pl 1299 now 1300 positionsel 1301 positionjoinsel 1302 contsel ' +
  '1303 contjoinsel 1304 overlaps 1305 overlaps 1306 overlaps 1307 overlaps 1308 overlaps 1309 overlaps ' +
  '1310 overlaps 1311 overlaps 1312 timestamp_in 1313 timestamp_out 1314 timestamptz_cmp 1315 interval_cmp ' +
  '1316 time 1317 length 1318 length 1319 xideqint4 1326 interval_div 1339 dlog10 1340 log 1341 ln 1342 round ' +
  '1343 trunc 1344 sqrt 1345 cbrt 1346 pow 1347 exp 1348 obj_description 1349 oidvectortypes 1350 timetz_in ' +
  '1351 timetz_out 1352 timetz_eq 1353 timetz_ne 1354 timetz_lt 1355 timetz_le 1356 timetz_ge 1357 timetz_gt ' +
  '1358 timetz_cmp 1359 timestamptz 1362 hostmask 1364 textregexeq_support 1365 makeaclitem 1367 character_length ' +
  '1368 power 1369 character_length 1370 interval 1371 pg_lock_status 1372 char_length 1373 isfinite ' +
  '1374 octet_length 1375 octet_length 1376 factorial 1377 time_larger 1378 time_smaller 1379 timetz_larger ' +
  '1380 timetz_smaller 1381 char_length 1384 date_part 1385 date_part 1386 age 1387 pg_get_constraintdef ' +
  '1388 timetz 1389 isfinite 1390 isfinite 1391 pg_stat_get_backend_start 1392 pg_stat_get_backend_client_addr ' +
  '1393 pg_stat_get_backend_client_port 1394 abs 1395 abs 1396 abs 1397 abs 1398 abs 1400 name 1401 varchar ' +
  '1402 current_schema 1403 current_schemas 1404 overlay 1405 overlay 1406 isvertical 1407 ishorizontal ' +
  '1408 isparallel 1409 isperp 1410 isvertical 1411 ishorizontal 1412 isparallel 1413 isperp 1414 isvertical ' +
  '1415 ishorizontal 1416 point 1419 time 1421 box 1422 box_add 1423 box_sub 1424 box_mul 1425 box_div ' +
  '1426 path_contain_pt 1427 cidr_out 1428 poly_contain_pt 1429 pt_contained_poly 1430 isclosed 1431 isopen ' +
  '1432 path_npoints 1433 pclose 1434 popen 1435 path_add 1436 path_add_pt 1437 path_sub_pt 1438 path_mul_pt ' +
  '1439 path_div_pt 1440 point 1441 point_add 1442 point_sub 1443 point_mul 1444 point_div 1445 poly_npoints ' +
  '1446 box 1447 path 1448 polygon 1449 polygon 1450 circle_in 1451 circle_out 1452 circle_same 1453 circle_contain ' +
  '1454 circle_left 1455 circle_overleft 1456 circle_overright 1457 circle_right 1458 circle_contained ' +
  '1459 circle_overlap 1460 circle_below 1461 circle_above 1462 circle_eq 1463 circle_ne 1464 circle_lt ' +
  '1465 circle_gt 1466 circle_le 1467 circle_ge 1468 area 1469 diameter 1470 radius 1471 circle_distance ' +
  '1472 circle_center 1473 circle 1474 circle 1475 polygon 1476 dist_pc 1477 circle_contain_pt ' +
  '1478 pt_contained_circle 1479 circle 1480 box 1481 log10 1482 lseg_ne 1483 lseg_lt 1484 lseg_le 1485 lseg_gt ' +
  '1486 lseg_ge 1487 lseg_length 1488 close_ls 1489 close_lseg 1490 line_in 1491 line_out 1492 line_eq 1493 line ' +
  '1494 line_interpt 1495 line_intersect 1496 line_parallel 1497 line_perp 1498 line_vertical 1499 line_horizontal ' +
  '1530 length 1531 length 1532 point 1533 point 1534 point 1540 point 1541 lseg 1542 center 1543 center ' +
  '1544 polygon 1545 npoints 1556 npoints 1564 bit_in 1565 bit_out 1569 like 1570 notlike 1571 like 1572 notlike ' +
  '1573 pg_get_ruledef 1574 nextval 1575 currval 1576 setval 1579 varbit_in 1580 varbit_out 1581 biteq 1582 bitne ' +
  '1592 bitge 1593 bitgt 1594 bitle 1595 bitlt 1596 bitcmp 1597 pg_encoding_to_char 1598 random 1599 setseed ' +
  '1600 asin 1601 acos 1602 atan 1603 atan2 1604 sin 1605 cos 1606 tan 1607 cot 1608 degrees 1609 radians 1610 pi ' +
  '1618 interval_mul 1619 pg_typeof 1620 ascii 1621 chr 1622 repeat 1623 similar_escape 1624 mul_d_interval ' +
  '1631 bpcharlike 1632 bpcharnlike 1633 texticlike 1634 texticnlike 1635 nameiclike 1636 nameicnlike ' +
  '1637 like_escape 1638 oidgt 1639 oidge 1640 pg_get_viewdef 1641 pg_get_viewdef 1642 pg_get_userbyid ' +
  '1643 pg_get_indexdef 1644 RI_FKey_check_ins 1645 RI_FKey_check_upd 1646 RI_FKey_cascade_del ' +
  '1647 RI_FKey_cascade_upd 1648 RI_FKey_restrict_del 1649 RI_FKey_restrict_upd 1650 RI_FKey_setnull_del ' +
  '1651 RI_FKey_setnull_upd 1652 RI_FKey_setdefault_del 1653 RI_FKey_setdefault_upd 1654 RI_FKey_noaction_del ' +
  '1655 RI_FKey_noaction_upd 1656 bpcharicregexeq 1657 bpcharicregexne 1658 bpcharregexeq 1659 bpcharregexne ' +
  '1660 bpchariclike 1661 bpcharicnlike 1662 pg_get_triggerdef 1665 pg_get_serial_sequence 1666 varbiteq ' +
  '1667 varbitne 1668 varbitge 1669 varbitgt 1670 varbitle 1671 varbitlt 1672 varbitcmp 1673 bitand 1674 bitor ' +
  '1675 bitxor 1676 bitnot 1677 bitshiftleft 1678 bitshiftright 1679 bitcat 1680 substring 1681 length ' +
  '1682 octet_length 1683 bit 1684 int4 1685 bit 1686 pg_get_keywords 1687 varbit 1688 time_hash 1689 aclexplode ' +
  '1690 time_mi_time 1691 boolle 1692 boolge 1693 btboolcmp 1696 timetz_hash 1697 interval_hash 1698 position ' +
  '1699 substring 1701 numeric_in 1702 numeric_out 1703 numeric 1704 numeric_abs 1705 abs 1706 sign 1707 round ' +
  '1708 round 1709 trunc 1710 trunc 1711 ceil 1712 floor 1713 length 1714 convert_from 1715 cidr 1716 pg_get_expr ' +
  '1717 convert_to 1718 numeric_eq 1719 numeric_ne 1720 numeric_gt 1721 numeric_ge 1722 numeric_lt 1723 numeric_le ' +
  '1724 numeric_add 1725 numeric_sub 1726 numeric_mul 1727 numeric_div 1728 mod 1729 numeric_mod 1730 sqrt ' +
  '1731 numeric_sqrt 1732 exp 1733 numeric_exp 1734 ln 1735 numeric_ln 1736 log 1737 numeric_log 1738 pow ' +
  '1739 numeric_power 1740 numeric 1741 log 1742 numeric 1743 numeric 1744 int4 1745 float4 1746 float8 ' +
  '1747 time_pl_interval 1748 time_mi_interval 1749 timetz_pl_interval 1750 timetz_mi_interval 1764 numeric_inc ' +
  '1765 setval 1766 numeric_smaller 1767 numeric_larger 1768 to_char 1769 numeric_cmp 1770 to_char ' +
  '1771 numeric_uminus 1772 to_char 1773 to_char 1774 to_char 1775 to_char 1776 to_char 1777 to_number ' +
  '1778 to_timestamp 1779 int8 1780 to_date 1781 numeric 1782 numeric 1783 int2 1798 oidin 1799 oidout ' +
  '1810 bit_length 1811 bit_length 1812 bit_length 1813 convert 1814 iclikesel 1815 icnlikesel 1816 iclikejoinsel ' +
  '1817 icnlikejoinsel 1818 regexeqsel 1819 likesel 1820 icregexeqsel 1821 regexnesel 1822 nlikesel ' +
  '1823 icregexnesel 1824 regexeqjoinsel 1825 likejoinsel 1826 icregexeqjoinsel 1827 regexnejoinsel ' +
  '1828 nlikejoinsel 1829 icregexnejoinsel 1830 float8_avg 1831 float8_var_samp 1832 float8_stddev_samp ' +
  '1833 numeric_accum 1834 int2_accum 1835 int4_accum 1836 int8_accum 1837 numeric_avg 1838 numeric_var_samp ' +
  '1839 numeric_stddev_samp 1840 int2_sum 1841 int4_sum 1842 int8_sum 1843 interval_avg_accum 1844 interval_avg ' +
  '1845 to_ascii 1846 to_ascii 1847 to_ascii 1848 interval_pl_time 1850 int28eq 1851 int28ne 1852 int28lt ' +
  '1853 int28gt 1854 int28le 1855 int28ge 1856 int82eq 1857 int82ne 1858 int82lt 1859 int82gt 1860 int82le ' +
  '1861 int82ge 1892 int2and 1893 int2or 1894 int2xor 1895 int2not 1896 int2shl 1897 int2shr 1898 int4and ' +
  '1899 int4or 1900 int4xor 1901 int4not 1902 int4shl 1903 int4shr 1904 int8and 1905 int8or 1906 int8xor ' +
  '1907 int8not 1908 int8shl 1909 int8shr 1910 int8up 1911 int2up 1912 int4up 1913 float4up 1914 float8up ' +
  '1915 numeric_uplus 1922 has_table_privilege 1923 has_table_privilege 1924 has_table_privilege ' +
  '1925 has_table_privilege 1926 has_table_privilege 1927 has_table_privilege 1928 pg_stat_get_numscans ' +
  '1929 pg_stat_get_tuples_returned 1930 pg_stat_get_tuples_fetched 1931 pg_stat_get_tuples_inserted ' +
  '1932 pg_stat_get_tuples_updated 1933 pg_stat_get_tuples_deleted 1934 pg_stat_get_blocks_fetched ' +
  '1935 pg_stat_get_blocks_hit 1936 pg_stat_get_backend_idset 1937 pg_stat_get_backend_pid ' +
  '1938 pg_stat_get_backend_dbid 1939 pg_stat_get_backend_userid 1940 pg_stat_get_backend_activity ' +
  '1941 pg_stat_get_db_numbackends 1942 pg_stat_get_db_xact_commit 1943 pg_stat_get_db_xact_rollback ' +
  '1944 pg_stat_get_db_blocks_fetched 1945 pg_stat_get_db_blocks_hit 1946 encode 1947 decode 1948 byteaeq ' +
  '1949 bytealt 1950 byteale 1951 byteagt 1952 byteage 1953 byteane 1954 byteacmp 1961 timestamp ' +
  '1962 int2_avg_accum 1963 int4_avg_accum 1964 int8_avg 1965 oidlarger 1966 oidsmaller 1967 timestamptz 1968 time ' +
  '1969 timetz 1972 pg_stat_get_tuples_hot_updated 1973 div 1980 numeric_div_trunc 1986 similar_to_escape ' +
  '1987 similar_to_escape 1993 shobj_description 2003 textanycat 2004 anytextcat 2005 bytealike 2006 byteanlike ' +
  '2007 like 2008 notlike 2009 like_escape 2010 length 2011 byteacat 2012 substring 2013 substring 2014 position ' +
  '2015 btrim 2019 time 2020 date_trunc 2021 date_part 2022 pg_stat_get_activity 2023 jsonb_path_query_first_tz ' +
  '2024 timestamp 2025 timestamp 2026 pg_backend_pid 2027 timestamp 2028 timestamptz 2029 date ' +
  '2030 jsonb_path_match_tz 2031 timestamp_mi 2032 timestamp_pl_interval 2033 timestamp_mi_interval ' +
  '2034 pg_conf_load_time 2035 timestamp_smaller 2036 timestamp_larger 2037 timezone 2038 timezone ' +
  '2039 timestamp_hash 2041 overlaps 2042 overlaps 2043 overlaps 2044 overlaps 2045 timestamp_cmp 2046 time ' +
  '2047 timetz 2048 isfinite 2049 to_char 2050 max 2051 min 2052 timestamp_eq 2053 timestamp_ne 2054 timestamp_lt ' +
  '2055 timestamp_le 2056 timestamp_ge 2057 timestamp_gt 2058 age 2059 age 2069 timezone 2070 timezone ' +
  '2071 date_pl_interval 2072 date_mi_interval 2073 substring 2074 substring 2075 bit 2076 int8 ' +
  '2077 current_setting 2078 set_config 2079 pg_table_is_visible 2080 pg_type_is_visible ' +
  '2081 pg_function_is_visible 2082 pg_operator_is_visible 2083 pg_opclass_is_visible 2084 pg_show_all_settings ' +
  '2085 substr 2086 substr 2087 replace 2088 split_part 2089 to_hex 2090 to_hex 2091 array_lower 2092 array_upper ' +
  '2093 pg_conversion_is_visible 2094 pg_stat_get_backend_activity_start 2096 pg_terminate_backend ' +
  '2098 pg_get_functiondef 2100 avg 2101 avg 2102 avg 2103 avg 2104 avg 2105 avg 2106 avg 2107 sum 2108 sum ' +
  '2109 sum 2110 sum 2111 sum 2112 sum 2113 sum 2114 sum 2115 max 2116 max 2117 max 2118 max 2119 max 2120 max ' +
  '2121 pg_column_compression 2122 max 2123 max 2124 max 2125 max 2126 max 2127 max 2128 max 2129 max 2130 max ' +
  '2131 min 2132 min 2133 min 2134 min 2135 min 2136 min 2137 pg_stat_force_next_flush 2138 min 2139 min 2140 min ' +
  '2141 min 2142 min 2143 min 2144 min 2145 min 2146 min 2147 count 2148 variance 2149 variance 2150 variance ' +
  '2151 variance 2152 variance 2153 variance 2154 stddev 2155 stddev 2156 stddev 2157 stddev 2158 stddev ' +
  '2159 stddev 2160 text_pattern_lt 2161 text_pattern_le 2162 pg_get_function_arguments 2163 text_pattern_ge ' +
  '2164 text_pattern_gt 2165 pg_get_function_result 2166 bttext_pattern_cmp 2167 ceiling 2168 pg_database_size ' +
  '2169 power 2170 width_bucket 2171 pg_cancel_backend 2172 pg_backup_start 2173 pg_stop_backup ' +
  '2174 bpchar_pattern_lt 2175 bpchar_pattern_le 2176 array_length 2177 bpchar_pattern_ge 2178 bpchar_pattern_gt ' +
  '2179 gist_point_consistent 2180 btbpchar_pattern_cmp 2181 has_sequence_privilege 2182 has_sequence_privilege ' +
  '2183 has_sequence_privilege 2184 has_sequence_privilege 2185 has_sequence_privilege 2186 has_sequence_privilege ' +
  '2188 btint48cmp 2189 btint84cmp 2190 btint24cmp 2191 btint42cmp 2192 btint28cmp 2193 btint82cmp ' +
  '2194 btfloat48cmp 2195 btfloat84cmp 2196 inet_client_addr 2197 inet_client_port 2198 inet_server_addr ' +
  '2199 inet_server_port 2212 regprocedurein 2213 regprocedureout 2214 regoperin 2215 regoperout 2216 regoperatorin ' +
  '2217 regoperatorout 2218 regclassin 2219 regclassout 2220 regtypein 2221 regtypeout 2230 pg_stat_clear_snapshot ' +
  '2232 pg_get_function_identity_arguments 2233 hashtid 2234 hashtidextended 2236 bit_and 2237 bit_or 2238 bit_and ' +
  '2239 bit_or 2240 bit_and 2241 bit_or 2242 bit_and 2243 bit_or 2244 max 2245 min 2246 fmgr_internal_validator ' +
  '2247 fmgr_c_validator 2248 fmgr_sql_validator 2250 has_database_privilege 2251 has_database_privilege ' +
  '2252 has_database_privilege 2253 has_database_privilege 2254 has_database_privilege 2255 has_database_privilege ' +
  '2256 has_function_privilege 2257 has_function_privilege 2258 has_function_privilege 2259 has_function_privilege ' +
  '2260 has_function_privilege 2261 has_function_privilege 2262 has_language_privilege 2263 has_language_privilege ' +
  '2264 has_language_privilege 2265 has_language_privilege 2266 has_language_privilege 2267 has_language_privilege ' +
  '2268 has_schema_privilege 2269 has_schema_privilege 2270 has_schema_privilege 2271 has_schema_privilege ' +
  '2272 has_schema_privilege 2273 has_schema_privilege 2274 pg_stat_reset 2282 pg_get_backend_memory_contexts ' +
  '2284 regexp_replace 2285 regexp_replace 2286 pg_total_relation_size 2288 pg_size_pretty 2289 pg_options_to_table ' +
  '2290 record_in 2291 record_out 2292 cstring_in 2293 cstring_out 2294 any_in 2295 any_out 2296 anyarray_in ' +
  '2297 anyarray_out 2298 void_in 2299 void_out 2300 trigger_in 2301 trigger_out 2302 language_handler_in ' +
  '2303 language_handler_out 2304 internal_in 2305 internal_out 2306 pg_stat_get_slru 2307 pg_stat_reset_slru ' +
  '2308 ceil 2309 floor 2310 sign 2311 md5 2312 anyelement_in 2313 anyelement_out 2316 postgresql_fdw_validator ' +
  '2319 pg_encoding_max_length 2320 ceiling 2321 md5 2322 pg_tablespace_size 2323 pg_tablespace_size ' +
  '2324 pg_database_size 2325 pg_relation_size 2331 unnest 2332 pg_relation_size 2333 array_agg_transfn ' +
  '2334 array_agg_finalfn 2335 array_agg 2338 date_lt_timestamp 2339 date_le_timestamp 2340 date_eq_timestamp ' +
  '2341 date_gt_timestamp 2342 date_ge_timestamp 2343 date_ne_timestamp 2344 date_cmp_timestamp ' +
  '2351 date_lt_timestamptz 2352 date_le_timestamptz 2353 date_eq_timestamptz 2354 date_gt_timestamptz ' +
  '2355 date_ge_timestamptz 2356 date_ne_timestamptz 2357 date_cmp_timestamptz 2364 timestamp_lt_date ' +
  '2365 timestamp_le_date 2366 timestamp_eq_date 2367 timestamp_gt_date 2368 timestamp_ge_date ' +
  '2369 timestamp_ne_date 2370 timestamp_cmp_date 2377 timestamptz_lt_date 2378 timestamptz_le_date ' +
  '2379 timestamptz_eq_date 2380 timestamptz_gt_date 2381 timestamptz_ge_date 2382 timestamptz_ne_date ' +
  '2383 timestamptz_cmp_date 2390 has_tablespace_privilege 2391 has_tablespace_privilege ' +
  '2392 has_tablespace_privilege 2393 has_tablespace_privilege 2394 has_tablespace_privilege ' +
  '2395 has_tablespace_privilege 2398 shell_in 2399 shell_out 2400 array_recv 2401 array_send 2402 record_recv ' +
  '2403 record_send 2404 int2recv 2405 int2send 2406 int4recv 2407 int4send 2408 int8recv 2409 int8send ' +
  '2410 int2vectorrecv 2411 int2vectorsend 2412 bytearecv 2413 byteasend 2414 textrecv 2415 textsend ' +
  '2416 unknownrecv 2417 unknownsend 2418 oidrecv 2419 oidsend 2420 oidvectorrecv 2421 oidvectorsend 2422 namerecv ' +
  '2423 namesend 2424 float4recv 2425 float4send 2426 float8recv 2427 float8send 2428 point_recv 2429 point_send ' +
  '2430 bpcharrecv 2431 bpcharsend 2432 varcharrecv 2433 varcharsend 2434 charrecv 2435 charsend 2436 boolrecv ' +
  '2437 boolsend 2438 tidrecv 2439 tidsend 2440 xidrecv 2441 xidsend 2442 cidrecv 2443 cidsend 2444 regprocrecv ' +
  '2445 regprocsend 2446 regprocedurerecv 2447 regproceduresend 2448 regoperrecv 2449 regopersend ' +
  '2450 regoperatorrecv 2451 regoperatorsend 2452 regclassrecv 2453 regclasssend 2454 regtyperecv 2455 regtypesend ' +
  '2456 bit_recv 2457 bit_send 2458 varbit_recv 2459 varbit_send 2460 numeric_recv 2461 numeric_send 2462 sinh ' +
  '2463 cosh 2464 tanh 2465 asinh 2466 acosh 2467 atanh 2468 date_recv 2469 date_send 2470 time_recv 2471 time_send ' +
  '2472 timetz_recv 2473 timetz_send 2474 timestamp_recv 2475 timestamp_send 2476 timestamptz_recv ' +
  '2477 timestamptz_send 2478 interval_recv 2479 interval_send 2480 lseg_recv 2481 lseg_send 2482 path_recv ' +
  '2483 path_send 2484 box_recv 2485 box_send 2486 poly_recv 2487 poly_send 2488 line_recv 2489 line_send ' +
  '2490 circle_recv 2491 circle_send 2492 cash_recv 2493 cash_send 2494 macaddr_recv 2495 macaddr_send ' +
  '2496 inet_recv 2497 inet_send 2498 cidr_recv 2499 cidr_send 2500 cstring_recv 2501 cstring_send ' +
  '2502 anyarray_recv 2503 anyarray_send 2504 pg_get_ruledef 2505 pg_get_viewdef 2506 pg_get_viewdef ' +
  '2507 pg_get_indexdef 2508 pg_get_constraintdef 2509 pg_get_expr 2510 pg_prepared_statement 2511 pg_cursor ' +
  '2512 float8_var_pop 2513 float8_stddev_pop 2514 numeric_var_pop 2515 booland_statefunc 2516 boolor_statefunc ' +
  '2517 bool_and 2518 bool_or 2519 every 2520 timestamp_lt_timestamptz 2521 timestamp_le_timestamptz ' +
  '2522 timestamp_eq_timestamptz 2523 timestamp_gt_timestamptz 2524 timestamp_ge_timestamptz ' +
  '2525 timestamp_ne_timestamptz 2526 timestamp_cmp_timestamptz 2527 timestamptz_lt_timestamp ' +
  '2528 timestamptz_le_timestamp 2529 timestamptz_eq_timestamp 2530 timestamptz_gt_timestamp ' +
  '2531 timestamptz_ge_timestamp 2532 timestamptz_ne_timestamp 2533 timestamptz_cmp_timestamp 2546 interval_pl_date ' +
  '2547 interval_pl_timetz 2548 interval_pl_timestamp 2549 interval_pl_timestamptz 2550 integer_pl_date ' +
  '2556 pg_tablespace_databases 2557 bool 2558 int4 2559 lastval 2560 pg_postmaster_start_time ' +
  '2561 pg_blocking_pids 2562 box_below 2563 box_overbelow 2564 box_overabove 2565 box_above 2566 poly_below ' +
  '2567 poly_overbelow 2568 poly_overabove 2569 poly_above 2578 gist_box_consistent 2580 float8 ' +
  '2581 gist_box_penalty 2582 gist_box_picksplit 2583 gist_box_union 2584 gist_box_same 2585 gist_poly_consistent ' +
  '2586 gist_poly_compress 2587 circle_overbelow 2588 circle_overabove 2591 gist_circle_consistent ' +
  '2592 gist_circle_compress 2596 numeric_stddev_pop 2597 domain_in 2598 domain_recv ' +
  '2599 pg_timezone_abbrevs_abbrevs 2614 xmlexists 2621 pg_reload_conf 2622 pg_rotate_logfile 2623 pg_stat_file ' +
  '2624 pg_read_file 2625 pg_ls_dir 2626 pg_sleep 2627 inetnot 2628 inetand 2629 inetor 2630 inetpl ' +
  '2631 int8pl_inet 2632 inetmi_int8 2633 inetmi 2641 var_samp 2642 var_samp 2643 var_samp 2644 var_samp ' +
  '2645 var_samp 2646 var_samp 2647 transaction_timestamp 2648 statement_timestamp 2649 clock_timestamp ' +
  '2700 gin_cmp_prefix 2705 pg_has_role 2706 pg_has_role 2707 pg_has_role 2708 pg_has_role 2709 pg_has_role ' +
  '2710 pg_has_role 2711 justify_interval 2712 stddev_samp 2713 stddev_samp 2714 stddev_samp 2715 stddev_samp ' +
  '2716 stddev_samp 2717 stddev_samp 2718 var_pop 2719 var_pop 2720 var_pop 2721 var_pop 2722 var_pop 2723 var_pop ' +
  '2724 stddev_pop 2725 stddev_pop 2726 stddev_pop 2727 stddev_pop 2728 stddev_pop 2729 stddev_pop ' +
  '2730 pg_get_triggerdef 2731 asind 2732 acosd 2733 atand 2734 atan2d 2735 sind 2736 cosd 2737 tand 2738 cotd ' +
  '2739 pg_backup_stop 2740 numeric_avg_serialize 2741 numeric_avg_deserialize 2743 ginarrayextract ' +
  '2744 ginarrayconsistent 2746 int8_avg_accum 2747 arrayoverlap 2748 arraycontains 2749 arraycontained ' +
  '2758 pg_stat_get_db_tuples_returned 2759 pg_stat_get_db_tuples_fetched 2760 pg_stat_get_db_tuples_inserted ' +
  '2761 pg_stat_get_db_tuples_updated 2762 pg_stat_get_db_tuples_deleted 2763 regexp_matches 2764 regexp_matches ' +
  '2765 regexp_split_to_table 2766 regexp_split_to_table 2767 regexp_split_to_array 2768 regexp_split_to_array ' +
  '2769 pg_stat_get_checkpointer_num_timed 2770 pg_stat_get_checkpointer_num_requested ' +
  '2771 pg_stat_get_checkpointer_buffers_written 2772 pg_stat_get_bgwriter_buf_written_clean ' +
  '2773 pg_stat_get_bgwriter_maxwritten_clean 2774 ginqueryarrayextract 2775 pg_stat_get_buf_written_backend ' +
  '2777 anynonarray_in 2778 anynonarray_out 2781 pg_stat_get_last_vacuum_time 2782 pg_stat_get_last_autovacuum_time ' +
  '2783 pg_stat_get_last_analyze_time 2784 pg_stat_get_last_autoanalyze_time 2785 int8_avg_combine ' +
  '2786 int8_avg_serialize 2787 int8_avg_deserialize 2788 pg_stat_get_backend_wait_event_type 2790 tidgt 2791 tidlt ' +
  '2792 tidge 2793 tidle 2794 bttidcmp 2795 tidlarger 2796 tidsmaller 2797 max 2798 min 2803 count 2804 int8inc_any ' +
  '2805 int8inc_float8_float8 2806 float8_regr_accum 2807 float8_regr_sxx 2808 float8_regr_syy 2809 float8_regr_sxy ' +
  '2810 float8_regr_avgx 2811 float8_regr_avgy 2812 float8_regr_r2 2813 float8_regr_slope ' +
  '2814 float8_regr_intercept 2815 float8_covar_pop 2816 float8_covar_samp 2817 float8_corr 2818 regr_count ' +
  '2819 regr_sxx 2820 regr_syy 2821 regr_sxy 2822 regr_avgx 2823 regr_avgy 2824 regr_r2 2825 regr_slope ' +
  '2826 regr_intercept 2827 covar_pop 2828 covar_samp 2829 corr 2844 pg_stat_get_db_blk_read_time ' +
  '2845 pg_stat_get_db_blk_write_time 2848 pg_switch_wal 2849 pg_current_wal_lsn 2850 pg_walfile_name_offset ' +
  '2851 pg_walfile_name 2852 pg_current_wal_insert_lsn 2853 pg_stat_get_backend_wait_event 2854 pg_my_temp_schema ' +
  '2855 pg_is_other_temp_schema 2856 pg_timezone_names 2857 pg_stat_get_backend_xact_start 2858 numeric_avg_accum ' +
  '2859 pg_stat_get_buf_alloc 2878 pg_stat_get_live_tuples 2879 pg_stat_get_dead_tuples 2880 pg_advisory_lock ' +
  '2881 pg_advisory_lock_shared 2882 pg_try_advisory_lock 2883 pg_try_advisory_lock_shared 2884 pg_advisory_unlock ' +
  '2885 pg_advisory_unlock_shared 2886 pg_advisory_lock 2887 pg_advisory_lock_shared 2888 pg_try_advisory_lock ' +
  '2889 pg_try_advisory_lock_shared 2890 pg_advisory_unlock 2891 pg_advisory_unlock_shared ' +
  '2892 pg_advisory_unlock_all 2893 xml_in 2894 xml_out 2895 xmlcomment 2896 xml 2897 xmlvalidate 2898 xml_recv ' +
  '2899 xml_send 2900 xmlconcat2 2901 xmlagg 2902 varbittypmodin 2903 intervaltypmodin 2904 intervaltypmodout ' +
  '2905 timestamptypmodin 2906 timestamptypmodout 2907 timestamptztypmodin 2908 timestamptztypmodout ' +
  '2909 timetypmodin 2910 timetypmodout 2911 timetztypmodin 2912 timetztypmodout 2913 bpchartypmodin ' +
  '2914 bpchartypmodout 2915 varchartypmodin 2916 varchartypmodout 2917 numerictypmodin 2918 numerictypmodout ' +
  '2919 bittypmodin 2920 bittypmodout 2921 varbittypmodout 2922 text 2923 table_to_xml 2924 query_to_xml ' +
  '2925 cursor_to_xml 2926 table_to_xmlschema 2927 query_to_xmlschema 2928 cursor_to_xmlschema ' +
  '2929 table_to_xml_and_xmlschema 2930 query_to_xml_and_xmlschema 2931 xpath 2932 xpath 2933 schema_to_xml ' +
  '2934 schema_to_xmlschema 2935 schema_to_xml_and_xmlschema 2936 database_to_xml 2937 database_to_xmlschema ' +
  '2938 database_to_xml_and_xmlschema 2939 txid_snapshot_in 2940 txid_snapshot_out 2941 txid_snapshot_recv ' +
  '2942 txid_snapshot_send 2943 txid_current 2944 txid_current_snapshot 2945 txid_snapshot_xmin ' +
  '2946 txid_snapshot_xmax 2947 txid_snapshot_xip 2948 txid_visible_in_snapshot 2952 uuid_in 2953 uuid_out ' +
  '2954 uuid_lt 2955 uuid_le 2956 uuid_eq 2957 uuid_ge 2958 uuid_gt 2959 uuid_ne 2960 uuid_cmp 2961 uuid_recv ' +
  '2962 uuid_send 2963 uuid_hash 2971 text 2978 pg_stat_get_function_calls 2979 pg_stat_get_function_total_time ' +
  '2980 pg_stat_get_function_self_time 2981 record_eq 2982 record_ne 2983 record_lt 2984 record_gt 2985 record_le ' +
  '2986 record_ge 2987 btrecordcmp 2997 pg_table_size 2998 pg_indexes_size 2999 pg_relation_filenode ' +
  '3000 has_foreign_data_wrapper_privilege 3001 has_foreign_data_wrapper_privilege ' +
  '3002 has_foreign_data_wrapper_privilege 3003 has_foreign_data_wrapper_privilege ' +
  '3004 has_foreign_data_wrapper_privilege 3005 has_foreign_data_wrapper_privilege 3006 has_server_privilege ' +
  '3007 has_server_privilege 3008 has_server_privilege 3009 has_server_privilege 3010 has_server_privilege ' +
  '3011 has_server_privilege 3012 has_column_privilege 3013 has_column_privilege 3014 has_column_privilege ' +
  '3015 has_column_privilege 3016 has_column_privilege 3017 has_column_privilege 3018 has_column_privilege ' +
  '3019 has_column_privilege 3020 has_column_privilege 3021 has_column_privilege 3022 has_column_privilege ' +
  '3023 has_column_privilege 3024 has_any_column_privilege 3025 has_any_column_privilege ' +
  '3026 has_any_column_privilege 3027 has_any_column_privilege 3028 has_any_column_privilege ' +
  '3029 has_any_column_privilege 3030 overlay 3031 overlay 3032 get_bit 3033 set_bit 3034 pg_relation_filepath ' +
  '3035 pg_listening_channels 3036 pg_\u006eotify 3037 pg_stat_get_xact_numscans 3038 pg_stat_get_xact_tuples_returned ' +
  '3039 pg_stat_get_xact_tuples_fetched 3040 pg_stat_get_xact_tuples_inserted 3041 pg_stat_get_xact_tuples_updated ' +
  '3042 pg_stat_get_xact_tuples_deleted 3043 pg_stat_get_xact_tuples_hot_updated ' +
  '3044 pg_stat_get_xact_blocks_fetched 3045 pg_stat_get_xact_blocks_hit 3046 pg_stat_get_xact_function_calls ' +
  '3047 pg_stat_get_xact_function_total_time 3048 pg_stat_get_xact_function_self_time 3049 xpath_exists ' +
  '3050 xpath_exists 3051 xml_is_well_formed 3052 xml_is_well_formed_document 3053 xml_is_well_formed_content ' +
  '3054 pg_stat_get_vacuum_count 3055 pg_stat_get_autovacuum_count 3056 pg_stat_get_analyze_count ' +
  '3057 pg_stat_get_autoanalyze_count 3058 concat 3059 concat_ws 3060 left 3061 right 3062 reverse ' +
  '3063 pg_stat_get_buf_fsync_backend 3064 gist_point_distance 3065 pg_stat_get_db_conflict_tablespace ' +
  '3066 pg_stat_get_db_conflict_lock 3067 pg_stat_get_db_conflict_snapshot 3068 pg_stat_get_db_conflict_bufferpin ' +
  '3069 pg_stat_get_db_conflict_startup_deadlock 3070 pg_stat_get_db_conflict_all 3071 pg_wal_replay_pause ' +
  '3072 pg_wal_replay_resume 3073 pg_is_wal_replay_paused 3074 pg_stat_get_db_stat_reset_time ' +
  '3075 pg_stat_get_bgwriter_stat_reset_time 3076 ginarrayextract 3077 gin_extract_tsvector ' +
  '3078 pg_sequence_parameters 3082 pg_available_extensions 3083 pg_available_extension_versions ' +
  '3084 pg_extension_update_paths 3086 pg_extension_config_dump 3087 gin_extract_tsquery ' +
  '3088 gin_tsquery_consistent 3089 pg_advisory_xact_lock 3090 pg_advisory_xact_lock_shared ' +
  '3091 pg_try_advisory_xact_lock 3092 pg_try_advisory_xact_lock_shared 3093 pg_advisory_xact_lock ' +
  '3094 pg_advisory_xact_lock_shared 3095 pg_try_advisory_xact_lock 3096 pg_try_advisory_xact_lock_shared ' +
  '3097 varchar_support 3098 pg_create_restore_point 3099 pg_stat_get_wal_senders 3100 row_number 3101 rank ' +
  '3102 dense_rank 3103 percent_rank 3104 cume_dist 3105 ntile 3106 lag 3107 lag 3108 lag 3109 lead 3110 lead ' +
  '3111 lead 3112 first_value 3113 last_value 3114 nth_value 3116 fdw_handler_in 3117 fdw_handler_out ' +
  '3120 void_recv 3121 void_send 3129 btint2sortsupport 3130 btint4sortsupport 3131 btint8sortsupport ' +
  '3132 btfloat4sortsupport 3133 btfloat8sortsupport 3134 btoidsortsupport 3135 btnamesortsupport ' +
  '3136 date_sortsupport 3137 timestamp_sortsupport 3138 has_type_privilege 3139 has_type_privilege ' +
  '3140 has_type_privilege 3141 has_type_privilege 3142 has_type_privilege 3143 has_type_privilege 3144 macaddr_not ' +
  '3145 macaddr_and 3146 macaddr_or 3150 pg_stat_get_db_temp_files 3151 pg_stat_get_db_temp_bytes ' +
  '3152 pg_stat_get_db_deadlocks 3153 array_to_json 3154 array_to_json 3155 row_to_json 3156 row_to_json ' +
  '3157 numeric_support 3158 varbit_support 3159 pg_get_viewdef 3160 pg_stat_get_checkpointer_write_time ' +
  '3161 pg_stat_get_checkpointer_sync_time 3162 pg_collation_for 3163 pg_trigger_depth 3165 pg_wal_lsn_diff ' +
  '3166 pg_size_pretty 3167 array_remove 3168 array_replace 3169 rangesel 3170 lo_lseek64 3171 lo_tell64 ' +
  '3172 lo_truncate64 3173 json_agg_transfn 3174 json_agg_finalfn 3175 json_agg 3176 to_json ' +
  '3177 pg_stat_get_mod_since_analyze 3178 numeric_sum 3179 cardinality 3180 json_object_agg_transfn ' +
  '3181 record_image_eq 3182 record_image_ne 3183 record_image_lt 3184 record_image_gt 3185 record_image_le ' +
  '3186 record_image_ge 3187 btrecordimagecmp 3195 pg_stat_get_archiver 3196 json_object_agg_finalfn ' +
  '3197 json_object_agg 3198 json_build_array 3199 json_build_array 3200 json_build_object 3201 json_build_object ' +
  '3202 json_object 3203 json_object 3204 json_to_record 3205 json_to_recordset 3207 jsonb_array_length ' +
  '3208 jsonb_each 3209 jsonb_populate_record 3210 jsonb_typeof 3214 jsonb_object_field_text ' +
  '3215 jsonb_array_element 3216 jsonb_array_element_text 3217 jsonb_extract_path 3218 width_bucket ' +
  '3219 jsonb_array_elements 3229 pg_lsn_in 3230 pg_lsn_out 3231 pg_lsn_lt 3232 pg_lsn_le 3233 pg_lsn_eq ' +
  '3234 pg_lsn_ge 3235 pg_lsn_gt 3236 pg_lsn_ne 3237 pg_lsn_mi 3238 pg_lsn_recv 3239 pg_lsn_send 3251 pg_lsn_cmp ' +
  '3252 pg_lsn_hash 3255 bttextsortsupport 3259 generate_series 3260 generate_series 3261 json_strip_nulls ' +
  '3262 jsonb_strip_nulls 3263 jsonb_object 3264 jsonb_object 3265 jsonb_agg_transfn 3266 jsonb_agg_finalfn ' +
  '3267 jsonb_agg 3268 jsonb_object_agg_transfn 3269 jsonb_object_agg_finalfn 3270 jsonb_object_agg ' +
  '3271 jsonb_build_array 3272 jsonb_build_array 3273 jsonb_build_object 3274 jsonb_build_object 3275 dist_ppoly ' +
  '3277 array_position 3278 array_position 3279 array_positions 3280 gist_circle_distance 3281 scale ' +
  '3282 gist_point_fetch 3283 numeric_sortsupport 3288 gist_poly_distance 3290 dist_cpoint 3292 dist_polyp ' +
  '3293 pg_read_file 3294 current_setting 3295 pg_read_binary_file 3296 pg_notification_queue_usage 3297 pg_ls_dir ' +
  '3298 row_security_active 3299 row_security_active 3300 uuid_sortsupport 3301 jsonb_concat 3302 jsonb_delete ' +
  '3303 jsonb_delete 3304 jsonb_delete_path 3305 jsonb_set 3306 jsonb_pretty 3307 pg_stat_file 3308 xidneq ' +
  '3309 xidneqint4 3311 tsm_handler_in 3312 tsm_handler_out 3313 bernoulli 3314 system ' +
  '3317 pg_stat_get_wal_receiver 3318 pg_stat_get_progress_info 3319 ts_filter 3320 setweight 3321 ts_delete ' +
  '3322 unnest 3323 ts_delete 3324 int4_avg_combine 3325 interval_avg_combine 3326 tsvector_to_array ' +
  '3327 array_to_tsvector 3328 bpchar_sortsupport 3329 pg_show_all_file_settings 3330 pg_current_wal_flush_lsn ' +
  '3331 bytea_sortsupport 3332 bttext_pattern_sortsupport 3333 btbpchar_pattern_sortsupport 3334 pg_size_bytes ' +
  '3335 numeric_serialize 3336 numeric_deserialize 3337 numeric_avg_combine 3338 numeric_poly_combine ' +
  '3339 numeric_poly_serialize 3340 numeric_poly_deserialize 3341 numeric_combine 3342 float8_regr_combine ' +
  '3343 jsonb_delete 3344 cash_mul_int8 3345 cash_div_int8 3348 txid_current_if_assigned 3352 pg_get_partkeydef ' +
  '3353 pg_ls_logdir 3354 pg_ls_waldir 3355 pg_ndistinct_in 3356 pg_ndistinct_out 3357 pg_ndistinct_recv ' +
  '3358 pg_ndistinct_send 3359 macaddr_sortsupport 3360 txid_status 3376 pg_safe_snapshot_blocking_pids ' +
  '3378 pg_isolation_test_session_is_blocked 3382 pg_identify_object_as_address 3383 brin_minmax_opcinfo ' +
  '3384 brin_minmax_add_value 3385 brin_minmax_consistent 3386 brin_minmax_union 3387 int8_avg_accum_inv ' +
  '3388 numeric_poly_sum 3389 numeric_poly_avg 3390 numeric_poly_var_pop 3391 numeric_poly_var_samp ' +
  '3392 numeric_poly_stddev_pop 3393 numeric_poly_stddev_samp 3396 regexp_match 3397 regexp_match ' +
  '3399 int8_mul_cash 3400 pg_config 3401 pg_hba_file_rules 3403 pg_statistics_obj_is_visible ' +
  '3404 pg_dependencies_in 3405 pg_dependencies_out 3406 pg_dependencies_recv 3407 pg_dependencies_send ' +
  '3408 pg_get_partition_constraintdef 3409 time_hash_extended 3410 timetz_hash_extended ' +
  '3411 timestamp_hash_extended 3412 uuid_hash_extended 3413 pg_lsn_hash_extended 3414 hashenumextended ' +
  '3415 pg_get_statisticsobjdef 3416 jsonb_hash_extended 3417 hash_range_extended 3418 interval_hash_extended ' +
  '3419 sha224 3420 sha256 3421 sha384 3422 sha512 3423 pg_partition_tree 3424 pg_partition_root ' +
  '3425 pg_partition_ancestors 3426 pg_stat_get_db_checksum_failures 3427 pg_mcv_list_items ' +
  '3428 pg_stat_get_db_checksum_last_failure 3432 gen_random_uuid 3434 gtsvector_options ' +
  '3435 gist_point_sortsupport 3436 pg_promote 3437 prefixsel 3438 prefixjoinsel 3441 pg_control_system ' +
  '3442 pg_control_checkpoint 3443 pg_control_recovery 3444 pg_control_init 3445 pg_import_system_collations ' +
  '3446 macaddr8_recv 3447 macaddr8_send 3448 pg_collation_actual_version 3449 numeric 3450 int2 3451 int4 ' +
  '3452 int8 3453 float4 3454 pg_filenode_relation 3457 lo_from_bytea 3458 lo_get 3459 lo_get 3460 lo_put ' +
  '3461 make_timestamp 3462 make_timestamptz 3463 make_timestamptz 3464 make_interval ' +
  '3465 jsonb_array_elements_text 3469 spg_range_quad_config 3470 spg_range_quad_choose ' +
  '3471 spg_range_quad_picksplit 3472 spg_range_quad_inner_consistent 3473 spg_range_quad_leaf_consistent ' +
  '3475 jsonb_populate_recordset 3476 to_regoperator 3478 jsonb_object_field 3479 to_regprocedure ' +
  '3480 gin_compare_jsonb 3482 gin_extract_jsonb 3483 gin_extract_jsonb_query 3484 gin_consistent_jsonb ' +
  '3485 gin_extract_jsonb_path 3486 gin_extract_jsonb_query_path 3487 gin_consistent_jsonb_path ' +
  '3488 gin_triconsistent_jsonb 3489 gin_triconsistent_jsonb_path 3490 jsonb_to_record 3491 jsonb_to_recordset ' +
  '3492 to_regoper 3493 to_regtype 3494 to_regproc 3495 to_regclass 3496 bool_accum 3497 bool_accum_inv ' +
  '3498 bool_alltrue 3499 bool_anytrue 3504 anyenum_in 3505 anyenum_out 3506 enum_in 3507 enum_out 3508 enum_eq ' +
  '3509 enum_ne 3510 enum_lt 3511 enum_gt 3512 enum_le 3513 enum_ge 3514 enum_cmp 3515 hashenum 3524 enum_smaller ' +
  '3525 enum_larger 3526 max 3527 min 3528 enum_first 3529 enum_last 3530 enum_range 3531 enum_range 3532 enum_recv ' +
  '3533 enum_send 3535 string_agg_transfn 3536 string_agg_finalfn 3537 pg_describe_object 3538 string_agg ' +
  '3539 format 3540 format 3543 bytea_string_agg_transfn 3544 bytea_string_agg_finalfn 3545 string_agg 3546 int8dec ' +
  '3547 int8dec_any 3548 numeric_accum_inv 3549 interval_avg_accum_inv 3551 network_overlap ' +
  '3553 inet_gist_consistent 3554 inet_gist_union 3555 inet_gist_compress 3556 bool 3557 inet_gist_penalty ' +
  '3558 inet_gist_picksplit 3559 inet_gist_same 3560 networksel 3561 networkjoinsel 3562 network_larger ' +
  '3563 network_smaller 3564 max 3565 min 3566 pg_event_trigger_dropped_objects 3567 int2_accum_inv ' +
  '3568 int4_accum_inv 3569 int8_accum_inv 3570 int2_avg_accum_inv 3571 int4_avg_accum_inv 3572 int2int4_sum ' +
  '3573 inet_gist_fetch 3577 pg_logical_emit_message 3578 pg_logical_emit_message 3579 jsonb_insert ' +
  '3581 pg_xact_commit_timestamp 3582 binary_upgrade_set_next_pg_type_oid 3583 pg_last_committed_xact ' +
  '3584 binary_upgrade_set_next_array_pg_type_oid 3585 binary_upgrade_set_next_toast_pg_type_oid ' +
  '3586 binary_upgrade_set_next_heap_pg_class_oid 3587 binary_upgrade_set_next_index_pg_class_oid ' +
  '3588 binary_upgrade_set_next_toast_pg_class_oid 3589 binary_upgrade_set_next_pg_enum_oid ' +
  '3590 binary_upgrade_set_next_pg_authid_oid 3591 binary_upgrade_create_empty_extension 3594 event_trigger_in ' +
  '3595 event_trigger_out 3610 tsvectorin 3611 tsvectorout 3612 tsqueryin 3613 tsqueryout 3616 tsvector_lt ' +
  '3617 tsvector_le 3618 tsvector_eq 3619 tsvector_ne 3620 tsvector_ge 3621 tsvector_gt 3622 tsvector_cmp ' +
  '3623 strip 3624 setweight 3625 tsvector_concat 3634 ts_match_vq 3635 ts_match_qv 3638 tsvectorsend ' +
  '3639 tsvectorrecv 3640 tsquerysend 3641 tsqueryrecv 3646 gtsvectorin 3647 gtsvectorout 3648 gtsvector_compress ' +
  '3649 gtsvector_decompress 3650 gtsvector_picksplit 3651 gtsvector_union 3652 gtsvector_same ' +
  '3653 gtsvector_penalty 3654 gtsvector_consistent 3656 gin_extract_tsvector 3657 gin_extract_tsquery ' +
  '3658 gin_tsquery_consistent 3662 tsquery_lt 3663 tsquery_le 3664 tsquery_eq 3665 tsquery_ne 3666 tsquery_ge ' +
  '3667 tsquery_gt 3668 tsquery_cmp 3669 tsquery_and 3670 tsquery_or 3671 tsquery_not 3672 numnode 3673 querytree ' +
  '3684 ts_rewrite 3685 ts_rewrite 3686 tsmatchsel 3687 tsmatchjoinsel 3688 ts_typanalyze 3689 ts_stat 3690 ts_stat ' +
  '3691 tsq_mcontains 3692 tsq_mcontained 3695 gtsquery_compress 3696 starts_with 3697 gtsquery_picksplit ' +
  '3698 gtsquery_union 3699 gtsquery_same 3700 gtsquery_penalty 3701 gtsquery_consistent 3703 ts_rank 3704 ts_rank ' +
  '3705 ts_rank 3706 ts_rank 3707 ts_rank_cd 3708 ts_rank_cd 3709 ts_rank_cd 3710 ts_rank_cd 3711 length ' +
  '3713 ts_token_type 3714 ts_token_type 3715 ts_parse 3716 ts_parse 3717 prsd_start 3718 prsd_nexttoken ' +
  '3719 prsd_end 3720 prsd_headline 3721 prsd_lextype 3723 ts_lexize 3724 gin_cmp_tslexeme 3725 dsimple_init ' +
  '3726 dsimple_lexize 3728 dsynonym_init 3729 dsynonym_lexize 3731 dispell_init 3732 dispell_lexize ' +
  '3736 regconfigin 3737 regconfigout 3738 regconfigrecv 3739 regconfigsend 3740 thesaurus_init ' +
  '3741 thesaurus_lexize 3743 ts_headline 3744 ts_headline 3745 to_tsvector 3746 to_tsquery 3747 plainto_tsquery ' +
  '3749 to_tsvector 3750 to_tsquery 3751 plainto_tsquery 3752 tsvector_update_trigger ' +
  '3753 tsvector_update_trigger_column 3754 ts_headline 3755 ts_headline 3756 pg_ts_parser_is_visible ' +
  '3757 pg_ts_dict_is_visible 3758 pg_ts_config_is_visible 3759 get_current_ts_config 3760 ts_match_tt ' +
  '3761 ts_match_tq 3768 pg_ts_template_is_visible 3771 regdictionaryin 3772 regdictionaryout ' +
  '3773 regdictionaryrecv 3774 regdictionarysend 3775 pg_stat_reset_shared 3776 pg_stat_reset_single_table_counters ' +
  '3777 pg_stat_reset_single_function_counters 3778 pg_tablespace_location 3779 pg_create_physical_replication_slot ' +
  '3780 pg_drop_replication_slot 3781 pg_get_replication_slots 3782 pg_logical_slot_get_changes ' +
  '3783 pg_logical_slot_get_binary_changes 3784 pg_logical_slot_peek_changes ' +
  '3785 pg_logical_slot_peek_binary_changes 3786 pg_create_logical_replication_slot 3787 to_jsonb ' +
  '3788 pg_stat_get_snapshot_timestamp 3789 gin_clean_pending_list 3790 gtsvector_consistent ' +
  '3791 gin_extract_tsquery 3792 gin_tsquery_consistent 3793 gtsquery_consistent 3795 inet_spg_config ' +
  '3796 inet_spg_choose 3797 inet_spg_picksplit 3798 inet_spg_inner_consistent 3799 inet_spg_leaf_consistent ' +
  '3800 pg_current_logfile 3801 pg_current_logfile 3803 jsonb_send 3804 jsonb_out 3805 jsonb_recv 3806 jsonb_in ' +
  '3808 pg_get_function_arg_default 3809 pg_export_snapshot 3810 pg_is_in_recovery 3811 money 3812 money ' +
  '3813 xmltext 3814 pg_backup_start_time 3815 pg_collation_is_visible 3816 array_typanalyze 3817 arraycontsel ' +
  '3818 arraycontjoinsel 3819 pg_get_multixact_members 3820 pg_last_wal_receive_lsn 3821 pg_last_wal_replay_lsn ' +
  '3822 cash_div_cash 3823 numeric 3824 money 3826 pg_read_file 3827 pg_read_binary_file 3828 pg_read_binary_file ' +
  '3829 pg_opfamily_is_visible 3830 pg_last_xact_replay_timestamp 3832 anyrange_in 3833 anyrange_out 3834 range_in ' +
  '3835 range_out 3836 range_recv 3837 range_send 3839 pg_identify_object 3840 int4range 3841 int4range ' +
  '3842 pg_relation_is_updatable 3843 pg_column_is_updatable 3844 numrange 3845 numrange 3846 make_date ' +
  '3847 make_time 3848 lower 3849 upper 3850 isempty 3851 lower_inc 3852 upper_inc 3853 lower_inf 3854 upper_inf ' +
  '3855 range_eq 3856 range_ne 3857 range_overlaps 3858 range_contains_elem 3859 range_contains ' +
  '3860 elem_contained_by_range 3861 range_contained_by 3862 range_adjacent 3863 range_before 3864 range_after ' +
  '3865 range_overleft 3866 range_overright 3867 range_union 3868 range_intersect 3869 range_minus 3870 range_cmp ' +
  '3871 range_lt 3872 range_le 3873 range_ge 3874 range_gt 3875 range_gist_consistent 3876 range_gist_union ' +
  '3878 pg_replication_slot_advance 3879 range_gist_penalty 3880 range_gist_picksplit 3881 range_gist_same ' +
  '3902 hash_range 3914 int4range_canonical 3915 daterange_canonical 3916 range_typanalyze 3917 timestamp_support ' +
  '3918 interval_support 3920 ginarraytriconsistent 3921 gin_tsquery_triconsistent 3922 int4range_subdiff ' +
  '3923 int8range_subdiff 3924 numrange_subdiff 3925 daterange_subdiff 3928 int8range_canonical ' +
  '3929 tsrange_subdiff 3930 tstzrange_subdiff 3931 jsonb_object_keys 3932 jsonb_each_text 3933 tsrange ' +
  '3934 tsrange 3935 pg_sleep_for 3936 pg_sleep_until 3937 tstzrange 3938 tstzrange 3939 mxid_age ' +
  '3940 jsonb_extract_path_text 3941 daterange 3942 daterange 3943 acldefault 3944 time_support 3945 int8range ' +
  '3946 int8range 3947 json_object_field 3948 json_object_field_text 3949 json_array_element ' +
  '3950 json_array_element_text 3951 json_extract_path 3952 brin_summarize_new_values 3953 json_extract_path_text ' +
  '3954 pg_get_object_address 3955 json_array_elements 3956 json_array_length 3957 json_object_keys 3958 json_each ' +
  '3959 json_each_text 3960 json_populate_record 3961 json_populate_recordset 3968 json_typeof ' +
  '3969 json_array_elements_text 3970 ordered_set_transition 3971 ordered_set_transition_multi 3972 percentile_disc ' +
  '3973 percentile_disc_final 3974 percentile_cont 3975 percentile_cont_float8_final 3976 percentile_cont ' +
  '3977 percentile_cont_interval_final 3978 percentile_disc 3979 percentile_disc_multi_final 3980 percentile_cont ' +
  '3981 percentile_cont_float8_multi_final 3982 percentile_cont 3983 percentile_cont_interval_multi_final 3984 mode ' +
  '3985 mode_final 3986 rank 3987 rank_final 3988 percent_rank 3989 percent_rank_final 3990 cume_dist ' +
  '3991 cume_dist_final 3992 dense_rank 3993 dense_rank_final 3994 generate_series_int4_support ' +
  '3995 generate_series_int8_support 3996 array_unnest_support 3998 gist_box_distance 3999 brin_summarize_range ' +
  '4001 jsonpath_in 4002 jsonpath_recv 4003 jsonpath_out 4004 jsonpath_send 4005 jsonb_path_exists ' +
  '4006 jsonb_path_query 4007 jsonb_path_query_array 4008 jsonb_path_query_first 4009 jsonb_path_match ' +
  '4010 jsonb_path_exists_opr 4011 jsonb_path_match_opr 4014 brin_desummarize_range 4018 spg_quad_config ' +
  '4019 spg_quad_choose 4020 spg_quad_picksplit 4021 spg_quad_inner_consistent 4022 spg_quad_leaf_consistent ' +
  '4023 spg_kd_config 4024 spg_kd_choose 4025 spg_kd_picksplit 4026 spg_kd_inner_consistent 4027 spg_text_config ' +
  '4028 spg_text_choose 4029 spg_text_picksplit 4030 spg_text_inner_consistent 4031 spg_text_leaf_consistent ' +
  '4032 pg_sequence_last_value 4038 jsonb_ne 4039 jsonb_lt 4040 jsonb_gt 4041 jsonb_le 4042 jsonb_ge 4043 jsonb_eq ' +
  '4044 jsonb_cmp 4045 jsonb_hash 4046 jsonb_contains 4047 jsonb_exists 4048 jsonb_exists_any 4049 jsonb_exists_all ' +
  '4050 jsonb_contained 4051 array_agg_array_transfn 4052 array_agg_array_finalfn 4053 array_agg 4057 range_merge ' +
  '4063 inet_merge 4067 bound_box 4071 inet_same_family 4083 binary_upgrade_set_record_init_privs ' +
  '4084 regnamespacein 4085 regnamespaceout 4086 to_regnamespace 4087 regnamespacerecv 4088 regnamespacesend ' +
  '4091 box 4092 regroleout 4093 to_regrole 4094 regrolerecv 4095 regrolesend 4098 regrolein 4099 pg_numa_available ' +
  '4100 pg_get_shmem_allocations_numa 4101 binary_upgrade_set_missing_value 4105 brin_inclusion_opcinfo ' +
  '4106 brin_inclusion_add_value 4107 brin_inclusion_consistent 4108 brin_inclusion_union 4110 macaddr8_in ' +
  '4111 macaddr8_out 4112 trunc 4113 macaddr8_eq 4114 macaddr8_lt 4115 macaddr8_le 4116 macaddr8_gt ' +
  '4117 macaddr8_ge 4118 macaddr8_ne 4119 macaddr8_cmp 4120 macaddr8_not 4121 macaddr8_and 4122 macaddr8_or ' +
  '4123 macaddr8 4124 macaddr 4125 macaddr8_set7bit 4126 in_range 4127 in_range 4128 in_range 4129 in_range ' +
  '4130 in_range 4131 in_range 4132 in_range 4133 in_range 4134 in_range 4135 in_range 4136 in_range 4137 in_range ' +
  '4138 in_range 4139 in_range 4140 in_range 4141 in_range 4187 pg_lsn_larger 4188 pg_lsn_smaller 4189 max 4190 min ' +
  '4193 regcollationin 4194 regcollationout 4195 to_regcollation 4196 regcollationrecv 4197 regcollationsend ' +
  '4201 ts_headline 4202 ts_headline 4203 ts_headline 4204 ts_headline 4205 ts_headline 4206 ts_headline ' +
  '4207 ts_headline 4208 ts_headline 4209 to_tsvector 4210 to_tsvector 4211 to_tsvector 4212 to_tsvector ' +
  '4213 jsonb_to_tsvector 4214 jsonb_to_tsvector 4215 json_to_tsvector 4216 json_to_tsvector ' +
  '4220 pg_copy_physical_replication_slot 4221 pg_copy_physical_replication_slot ' +
  '4222 pg_copy_logical_replication_slot 4223 pg_copy_logical_replication_slot ' +
  '4224 pg_copy_logical_replication_slot 4226 anycompatiblemultirange_in 4227 anycompatiblemultirange_out ' +
  '4228 range_merge 4229 anymultirange_in 4230 anymultirange_out 4231 multirange_in 4232 multirange_out ' +
  '4233 multirange_recv 4234 multirange_send 4235 lower 4236 upper 4237 isempty 4238 lower_inc 4239 upper_inc ' +
  '4240 lower_inf 4241 upper_inf 4242 multirange_typanalyze 4243 multirangesel 4244 multirange_eq ' +
  '4245 multirange_ne 4246 range_overlaps_multirange 4247 multirange_overlaps_range ' +
  '4248 multirange_overlaps_multirange 4249 multirange_contains_elem 4250 multirange_contains_range ' +
  '4251 multirange_contains_multirange 4252 elem_contained_by_multirange 4253 range_contained_by_multirange ' +
  '4254 multirange_contained_by_multirange 4255 range_adjacent_multirange 4256 multirange_adjacent_multirange ' +
  '4257 multirange_adjacent_range 4258 range_before_multirange 4259 multirange_before_range ' +
  '4260 multirange_before_multirange 4261 range_after_multirange 4262 multirange_after_range ' +
  '4263 multirange_after_multirange 4264 range_overleft_multirange 4265 multirange_overleft_range ' +
  '4266 multirange_overleft_multirange 4267 range_overright_multirange 4268 multirange_overright_range ' +
  '4269 multirange_overright_multirange 4270 multirange_union 4271 multirange_minus 4272 multirange_intersect ' +
  '4273 multirange_cmp 4274 multirange_lt 4275 multirange_le 4276 multirange_ge 4277 multirange_gt ' +
  '4278 hash_multirange 4279 hash_multirange_extended 4280 int4multirange 4281 int4multirange 4282 int4multirange ' +
  '4283 nummultirange 4284 nummultirange 4285 nummultirange 4286 tsmultirange 4287 tsmultirange 4288 tsmultirange ' +
  '4289 tstzmultirange 4290 tstzmultirange 4291 tstzmultirange 4292 datemultirange 4293 datemultirange ' +
  '4294 datemultirange 4295 int8multirange 4296 int8multirange 4297 int8multirange 4298 multirange ' +
  '4299 range_agg_transfn 4300 range_agg_finalfn 4301 range_agg 4302 koi8r_to_mic 4303 mic_to_koi8r 4304 iso_to_mic ' +
  '4305 mic_to_iso 4306 win1251_to_mic 4307 mic_to_win1251 4308 win866_to_mic 4309 mic_to_win866 ' +
  '4310 koi8r_to_win1251 4311 win1251_to_koi8r 4312 koi8r_to_win866 4313 win866_to_koi8r 4314 win866_to_win1251 ' +
  '4315 win1251_to_win866 4316 iso_to_koi8r 4317 koi8r_to_iso 4318 iso_to_win1251 4319 win1251_to_iso ' +
  '4320 iso_to_win866 4321 win866_to_iso 4322 euc_cn_to_mic 4323 mic_to_euc_cn 4324 euc_jp_to_sjis ' +
  '4325 sjis_to_euc_jp 4326 euc_jp_to_mic 4327 sjis_to_mic 4328 mic_to_euc_jp 4329 mic_to_sjis 4330 euc_kr_to_mic ' +
  '4331 mic_to_euc_kr 4332 euc_tw_to_big5 4333 big5_to_euc_tw 4334 euc_tw_to_mic 4335 big5_to_mic ' +
  '4336 mic_to_euc_tw 4337 mic_to_big5 4338 latin2_to_mic 4339 mic_to_latin2 4340 win1250_to_mic ' +
  '4341 mic_to_win1250 4342 latin2_to_win1250 4343 win1250_to_latin2 4344 latin1_to_mic 4345 mic_to_latin1 ' +
  '4346 latin3_to_mic 4347 mic_to_latin3 4348 latin4_to_mic 4349 mic_to_latin4 4350 normalize 4351 is_normalized ' +
  '4352 big5_to_utf8 4353 utf8_to_big5 4354 utf8_to_koi8r 4355 koi8r_to_utf8 4356 utf8_to_koi8u 4357 koi8u_to_utf8 ' +
  '4358 utf8_to_win 4359 win_to_utf8 4360 euc_cn_to_utf8 4361 utf8_to_euc_cn 4362 euc_jp_to_utf8 ' +
  '4363 utf8_to_euc_jp 4364 euc_kr_to_utf8 4365 utf8_to_euc_kr 4366 euc_tw_to_utf8 4367 utf8_to_euc_tw ' +
  '4368 gb18030_to_utf8 4369 utf8_to_gb18030 4370 gbk_to_utf8 4371 utf8_to_gbk 4372 utf8_to_iso8859 ' +
  '4373 iso8859_to_utf8 4374 iso8859_1_to_utf8 4375 utf8_to_iso8859_1 4376 johab_to_utf8 4377 utf8_to_johab ' +
  '4378 sjis_to_utf8 4379 utf8_to_sjis 4380 uhc_to_utf8 4381 utf8_to_uhc 4382 euc_jis_2004_to_utf8 ' +
  '4383 utf8_to_euc_jis_2004 4384 shift_jis_2004_to_utf8 4385 utf8_to_shift_jis_2004 ' +
  '4386 euc_jis_2004_to_shift_jis_2004 4387 shift_jis_2004_to_euc_jis_2004 4388 multirange_intersect_agg_transfn ' +
  '4389 range_intersect_agg 4390 binary_upgrade_set_next_multirange_pg_type_oid ' +
  '4391 binary_upgrade_set_next_multirange_array_pg_type_oid 4401 range_intersect_agg_transfn ' +
  '4450 range_intersect_agg 4541 range_contains_multirange 4542 multirange_contained_by_range ' +
  '4543 pg_log_backend_memory_contexts 4545 binary_upgrade_set_next_heap_relfilenode ' +
  '4546 binary_upgrade_set_next_index_relfilenode 4547 binary_upgrade_set_next_toast_relfilenode ' +
  '4548 binary_upgrade_set_next_pg_tablespace_oid 4549 unicode_version ' +
  '4551 binary_upgrade_set_next_attribute_versions 4566 pg_event_trigger_table_rewrite_oid ' +
  '4567 pg_event_trigger_table_rewrite_reason 4568 pg_event_trigger_ddl_commands 4591 brin_bloom_opcinfo ' +
  '4592 brin_bloom_add_value 4593 brin_bloom_consistent 4594 brin_bloom_union 4595 brin_bloom_options ' +
  '4596 brin_bloom_summary_in 4597 brin_bloom_summary_out 4598 brin_bloom_summary_recv 4599 brin_bloom_summary_send ' +
  '4616 brin_minmax_multi_opcinfo 4617 brin_minmax_multi_add_value 4618 brin_minmax_multi_consistent ' +
  '4619 brin_minmax_multi_union 4620 brin_minmax_multi_options 4621 brin_minmax_multi_distance_int2 ' +
  '4622 brin_minmax_multi_distance_int4 4623 brin_minmax_multi_distance_int8 4624 brin_minmax_multi_distance_float4 ' +
  '4625 brin_minmax_multi_distance_float8 4626 brin_minmax_multi_distance_numeric ' +
  '4627 brin_minmax_multi_distance_tid 4628 brin_minmax_multi_distance_uuid 4629 brin_minmax_multi_distance_date ' +
  '4630 brin_minmax_multi_distance_time 4631 brin_minmax_multi_distance_interval ' +
  '4632 brin_minmax_multi_distance_timetz 4633 brin_minmax_multi_distance_pg_lsn ' +
  '4634 brin_minmax_multi_distance_macaddr 4635 brin_minmax_multi_distance_macaddr8 ' +
  '4636 brin_minmax_multi_distance_inet 4637 brin_minmax_multi_distance_timestamp 4638 brin_minmax_multi_summary_in ' +
  '4639 brin_minmax_multi_summary_out 4640 brin_minmax_multi_summary_recv 4641 brin_minmax_multi_summary_send ' +
  '5001 phraseto_tsquery 5003 tsquery_phrase 5004 tsquery_phrase 5006 phraseto_tsquery 5007 websearch_to_tsquery ' +
  '5009 websearch_to_tsquery 5010 spg_bbox_quad_config 5011 spg_poly_quad_compress 5012 spg_box_quad_config ' +
  '5013 spg_box_quad_choose 5014 spg_box_quad_picksplit 5015 spg_box_quad_inner_consistent ' +
  '5016 spg_box_quad_leaf_consistent 5018 pg_mcv_list_in 5019 pg_mcv_list_out 5020 pg_mcv_list_recv ' +
  '5021 pg_mcv_list_send 5022 pg_lsn_pli 5023 numeric_pl_pg_lsn 5024 pg_lsn_mii 5028 satisfies_hash_partition ' +
  '5029 pg_ls_tmpdir 5030 pg_ls_tmpdir 5031 pg_ls_archive_statusdir 5033 network_sortsupport 5034 xid8lt ' +
  '5035 xid8gt 5036 xid8le 5037 xid8ge 5040 matchingsel 5041 matchingjoinsel 5042 min_scale 5043 trim_scale ' +
  '5044 gcd 5045 gcd 5046 lcm 5047 lcm 5048 gcd 5049 lcm 5050 btvarstrequalimage 5051 btequalimage ' +
  '5052 pg_get_shmem_allocations 5053 pg_stat_get_ins_since_vacuum 5054 jsonb_set_lax 5055 pg_snapshot_in ' +
  '5056 pg_snapshot_out 5057 pg_snapshot_recv 5058 pg_snapshot_send 5059 pg_current_xact_id ' +
  '5060 pg_current_xact_id_if_assigned 5061 pg_current_snapshot 5062 pg_snapshot_xmin 5063 pg_snapshot_xmax ' +
  '5064 pg_snapshot_xip 5065 pg_visible_in_snapshot 5066 pg_xact_status 5070 xid8in 5071 xid 5081 xid8out ' +
  '5082 xid8recv 5083 xid8send 5084 xid8eq 5085 xid8ne 5086 anycompatible_in 5087 anycompatible_out ' +
  '5088 anycompatiblearray_in 5089 anycompatiblearray_out 5090 anycompatiblearray_recv 5091 anycompatiblearray_send ' +
  '5092 anycompatiblenonarray_in 5093 anycompatiblenonarray_out 5094 anycompatiblerange_in ' +
  '5095 anycompatiblerange_out 5096 xid8cmp 5097 xid8_larger 5098 xid8_smaller 5099 max 5100 min ' +
  '6003 pg_replication_origin_create 6004 pg_replication_origin_drop 6005 pg_replication_origin_oid ' +
  '6006 pg_replication_origin_session_setup 6007 pg_replication_origin_session_reset ' +
  '6008 pg_replication_origin_session_is_setup 6009 pg_replication_origin_session_progress ' +
  '6010 pg_replication_origin_xact_setup 6011 pg_replication_origin_xact_reset 6012 pg_replication_origin_advance ' +
  '6013 pg_replication_origin_progress 6014 pg_show_replication_origin_status 6098 jsonb_subscript_handler ' +
  '6099 icu_unicode_version 6103 pg_lsn 6105 unicode_assigned 6107 pg_stat_get_backend_subxact ' +
  '6118 pg_stat_get_subscription 6119 pg_get_publication_tables 6120 pg_get_replica_identity_index ' +
  '6121 pg_relation_is_publishable 6154 multirange_gist_consistent 6156 multirange_gist_compress ' +
  '6159 pg_get_catalog_foreign_keys 6160 string_to_table 6161 string_to_table 6162 bit_count 6163 bit_count ' +
  '6164 bit_xor 6165 bit_xor 6166 bit_xor 6167 bit_xor 6168 pg_xact_commit_timestamp_origin ' +
  '6169 pg_stat_get_replication_slot 6170 pg_stat_reset_replication_slot 6172 trim_array ' +
  '6173 pg_get_statisticsobjdef_expressions 6174 pg_get_statisticsobjdef_columns 6177 date_bin 6178 date_bin ' +
  '6179 array_subscript_handler 6180 raw_array_subscript_handler 6183 ts_debug 6184 ts_debug ' +
  '6185 pg_stat_get_db_session_time 6186 pg_stat_get_db_active_time 6187 pg_stat_get_db_idle_in_transaction_time ' +
  '6188 pg_stat_get_db_sessions 6189 pg_stat_get_db_sessions_abandoned 6190 pg_stat_get_db_sessions_fatal ' +
  '6191 pg_stat_get_db_sessions_killed 6192 hash_record 6193 hash_record_extended 6195 ltrim 6196 rtrim ' +
  '6197 pg_get_function_sqlbody 6198 unistr 6199 extract 6200 extract 6201 extract 6202 extract 6203 extract ' +
  '6204 extract 6205 has_parameter_privilege 6206 has_parameter_privilege 6207 has_parameter_privilege ' +
  '6208 pg_read_file 6209 pg_read_binary_file 6210 pg_input_is_valid 6211 pg_input_error_info 6212 random_normal ' +
  '6213 pg_split_walfile_name 6214 pg_stat_get_io 6215 array_shuffle 6216 array_sample ' +
  '6217 pg_stat_get_tuples_newpage_updated 6218 pg_stat_get_xact_tuples_newpage_updated 6219 erf 6220 erfc ' +
  '6221 date_add 6222 date_add 6223 date_subtract 6224 pg_get_wal_resource_managers 6225 multirange_agg_transfn ' +
  '6226 multirange_agg_finalfn 6227 range_agg 6230 pg_stat_have_stats 6231 pg_stat_get_subscription_stats ' +
  '6232 pg_stat_reset_subscription_stats 6233 window_row_number_support 6234 window_rank_support ' +
  '6235 window_dense_rank_support 6236 int8inc_support 6240 pg_settings_get_flags ' +
  '6241 pg_stop_making_pinned_objects 6242 text_starts_with_support 6248 pg_stat_get_recovery_prefetch ' +
  '6249 pg_database_collation_actual_version 6250 pg_ident_file_mappings 6251 regexp_replace 6252 regexp_replace ' +
  '6253 regexp_replace 6254 regexp_count 6255 regexp_count 6256 regexp_count 6257 regexp_instr 6258 regexp_instr ' +
  '6259 regexp_instr 6260 regexp_instr 6261 regexp_instr 6262 regexp_instr 6263 regexp_like 6264 regexp_like ' +
  '6265 regexp_substr 6266 regexp_substr 6267 regexp_substr 6268 regexp_substr 6269 regexp_substr ' +
  '6270 pg_ls_logicalsnapdir 6271 pg_ls_logicalmapdir 6272 pg_ls_replslotdir 6273 date_subtract ' +
  '6274 generate_series 6275 json_agg_strict_transfn 6276 json_agg_strict 6277 json_object_agg_strict_transfn ' +
  '6278 json_object_agg_unique_transfn 6279 json_object_agg_unique_strict_transfn 6280 json_object_agg_strict ' +
  '6281 json_object_agg_unique 6282 json_object_agg_unique_strict 6283 jsonb_agg_strict_transfn ' +
  '6284 jsonb_agg_strict 6285 jsonb_object_agg_strict_transfn 6286 jsonb_object_agg_unique_transfn ' +
  '6287 jsonb_object_agg_unique_strict_transfn 6288 jsonb_object_agg_strict 6289 jsonb_object_agg_unique ' +
  '6290 jsonb_object_agg_unique_strict 6291 any_value 6292 any_value_transfn 6293 array_agg_combine ' +
  '6294 array_agg_serialize 6295 array_agg_deserialize 6296 array_agg_array_combine 6297 array_agg_array_serialize ' +
  '6298 array_agg_array_deserialize 6299 string_agg_combine 6300 string_agg_serialize 6301 string_agg_deserialize ' +
  '6305 pg_log_standby_snapshot 6306 window_percent_rank_support 6307 window_cume_dist_support ' +
  '6308 window_ntile_support 6309 pg_stat_get_db_conflict_logicalslot 6310 pg_stat_get_lastscan 6311 system_user ' +
  '6312 binary_upgrade_logical_slot_has_caught_up 6313 pg_stat_get_backend_wal ' +
  '6314 pg_stat_get_checkpointer_stat_reset_time 6315 pg_basetype 6316 pg_column_toast_chunk_id 6317 to_regtypemod ' +
  '6318 pg_get_wait_events 6319 binary_upgrade_add_sub_rel_state 6320 binary_upgrade_replorigin_advance ' +
  '6321 pg_available_wal_summaries 6322 pg_wal_summary_contents 6323 pg_get_wal_summarizer_state ' +
  '6324 interval_avg_serialize 6325 interval_avg_deserialize 6326 interval_sum ' +
  '6327 pg_stat_get_checkpointer_restartpoints_timed 6328 pg_stat_get_checkpointer_restartpoints_requested ' +
  '6329 pg_stat_get_checkpointer_restartpoints_performed 6330 to_bin 6331 to_bin 6332 to_oct 6333 to_oct ' +
  '6334 timezone 6335 timezone 6336 timezone 6338 jsonb_populate_record_valid 6339 random 6340 random 6341 random ' +
  '6342 uuid_extract_timestamp 6343 uuid_extract_version 6344 pg_sync_replication_slots ' +
  '6345 range_contains_elem_support 6346 elem_contained_by_range_support 6347 gist_translate_cmptype_common ' +
  '6348 has_largeobject_privilege 6349 has_largeobject_privilege 6350 has_largeobject_privilege ' +
  '6353 pg_get_loaded_modules 6354 generate_series_timestamp_support 6355 pg_stat_get_db_parallel_workers_to_launch ' +
  '6356 pg_stat_get_db_parallel_workers_launched 6357 generate_series_numeric_support ' +
  '6358 pg_stat_get_total_vacuum_time 6359 pg_stat_get_total_autovacuum_time 6360 pg_stat_get_total_analyze_time ' +
  '6361 pg_stat_get_total_autoanalyze_time 6362 pg_restore_relation_stats 6363 pg_restore_attribute_stats ' +
  '6364 crc32 6365 crc32c 6366 pg_stat_get_checkpointer_slru_written 6367 bytea 6368 bytea 6369 bytea 6370 int2 ' +
  '6371 int4 6372 int8 6373 max 6374 min 6375 record_larger 6376 record_smaller ' +
  '6377 pg_stat_get_checkpointer_num_performed 6378 array_append_support 6379 array_prepend_support ' +
  '6380 array_subscript_handler_support 6381 array_reverse 6382 reverse 6383 gamma 6384 lgamma 6385 pg_get_acl ' +
  '6386 pg_stat_get_backend_io 6387 pg_stat_reset_backend_stats 6388 array_sort 6389 array_sort 6390 array_sort ' +
  '6391 range_sortsupport 6393 bytea_larger 6394 bytea_smaller 6395 max 6396 min 6397 pg_clear_relation_stats ' +
  '6398 pg_clear_attribute_stats 6399 pg_get_aios 6400 pg_ls_summariesdir 6401 pg_timezone_abbrevs_zone ' +
  '6402 btint2skipsupport 6403 btint4skipsupport 6404 btint8skipsupport 6405 btoidskipsupport ' +
  '6406 btcharskipsupport 6407 date_skipsupport 6408 btboolskipsupport 6409 timestamp_skipsupport ' +
  '6410 uuid_skipsupport 6412 casefold 6413 hashbytea 6414 hashbyteaextended 6415 hashdate 6416 hashdateextended ' +
  '6417 hashbool 6418 hashboolextended 6419 hashxid 6420 hashxidextended 6421 hashxid8 6422 hashxid8extended ' +
  '6423 hashcid 6424 hashcidextended 6425 timestamptz_hash 6426 timestamptz_hash_extended 6427 pg_get_sequence_data ' +
  '6428 uuidv4 6429 uuidv7 6430 uuidv7';

/** OIDs whose function a later major renamed (or replaced): the name in that major. */
const RENAMED: Record<number, Record<number, string>> = {
  13: {
    1293: 'currtid',
    1843: 'interval_accum',
    2172: 'pg_start_backup',
    2599: 'pg_timezone_abbrevs',
    2739: 'pg_stop_backup',
    2769: 'pg_stat_get_bgwriter_timed_checkpoints',
    2770: 'pg_stat_get_bgwriter_requested_checkpoints',
    2771: 'pg_stat_get_bgwriter_buf_written_checkpoints',
    3160: 'pg_stat_get_checkpoint_write_time',
    3161: 'pg_stat_get_checkpoint_sync_time',
    3325: 'interval_combine',
    3549: 'interval_accum_inv',
    3813: 'pg_is_in_backup',
    4099: 'pg_rotate_logfile_old',
    4100: 'pg_read_file_old',
  },
  14: {
    1843: 'interval_accum',
    2172: 'pg_start_backup',
    2599: 'pg_timezone_abbrevs',
    2739: 'pg_stop_backup',
    2769: 'pg_stat_get_bgwriter_timed_checkpoints',
    2770: 'pg_stat_get_bgwriter_requested_checkpoints',
    2771: 'pg_stat_get_bgwriter_buf_written_checkpoints',
    3160: 'pg_stat_get_checkpoint_write_time',
    3161: 'pg_stat_get_checkpoint_sync_time',
    3325: 'interval_combine',
    3549: 'interval_accum_inv',
    3813: 'pg_is_in_backup',
    4099: 'pg_rotate_logfile_old',
    4100: 'pg_read_file_old',
  },
  15: {
    1843: 'interval_accum',
    2599: 'pg_timezone_abbrevs',
    2769: 'pg_stat_get_bgwriter_timed_checkpoints',
    2770: 'pg_stat_get_bgwriter_requested_checkpoints',
    2771: 'pg_stat_get_bgwriter_buf_written_checkpoints',
    3160: 'pg_stat_get_checkpoint_write_time',
    3161: 'pg_stat_get_checkpoint_sync_time',
    3325: 'interval_combine',
    3549: 'interval_accum_inv',
    4099: 'pg_rotate_logfile_old',
    4100: 'pg_read_file_old',
  },
  16: {
    1843: 'interval_accum',
    2599: 'pg_timezone_abbrevs',
    2769: 'pg_stat_get_bgwriter_timed_checkpoints',
    2770: 'pg_stat_get_bgwriter_requested_checkpoints',
    2771: 'pg_stat_get_bgwriter_buf_written_checkpoints',
    3160: 'pg_stat_get_checkpoint_write_time',
    3161: 'pg_stat_get_checkpoint_sync_time',
    3325: 'interval_combine',
    3549: 'interval_accum_inv',
    4099: 'pg_rotate_logfile_old',
    4100: 'pg_read_file_old',
  },
  17: {
    2599: 'pg_timezone_abbrevs',
  },
};
let byOid: Map<number, string> | null = null;

function table(): Map<number, string> {
  if (byOid) return byOid;
  byOid = new Map();
  const words = BUILTIN.split(' ');
  for (let i = 0; i + 1 < words.length; i += 2) byOid.set(Number(words[i]), words[i + 1]!);
  return byOid;
}

/** Where user and extension objects start (FirstNormalObjectId in access/transam.h). */
export const FIRST_NORMAL_OBJECT_ID = 16384;

/**
 * The name of the built-in function with this OID on an upstream of this major (the newest
 * major's name when the major is not known), or null when the OID is not one pgward can name.
 */
export function builtinFunctionName(oid: number, major?: number): string | null {
  if (major !== undefined) {
    const renamed = RENAMED[major]?.[oid];
    if (renamed) return renamed;
  }
  return table().get(oid) ?? null;
}
